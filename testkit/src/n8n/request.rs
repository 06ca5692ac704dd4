//! Reading one HTTP/1.1 request: the head with `httparse`, the body by its
//! `Content-Length`, a `multipart/form-data` body with [`crate::multipart`].
//!
//! The parser is a pure function over the bytes received so far ([`parse`]),
//! so the socket loop ([`read`]) and the captured requests in `fixtures/`
//! go through the same code.

use std::collections::HashMap;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::multipart::{self, FormPart};

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// e.g. `POST`.
    pub method: String,
    /// e.g. `/webhook/chat`.
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    /// The body, parsed as JSON (Null if it was not JSON); for a
    /// multipart body, what the workflow sees as `$json`.
    pub body: serde_json::Value,
    /// The parts of a `multipart/form-data` body, in order.
    pub parts: Vec<FormPart>,
}

/// What the bytes received so far hold.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A whole request, and how many bytes it took (a pipelined next
    /// request may follow).
    Complete(Recorded, usize),
    /// Not yet: the head is incomplete (`None`), or the head says the
    /// request is this many bytes long.
    Incomplete(Option<usize>),
    /// Not HTTP/1.x.
    Invalid,
}

/// Header slots on the stack: every client the tests use sends far fewer;
/// a request with more is parsed again with [`MANY_HEADERS`] slots.
const HEADERS: usize = 64;
/// The most headers a request may have.
const MANY_HEADERS: usize = 1024;

/// Parses the request at the start of `buf`.
pub(crate) fn parse(buf: &[u8]) -> Parsed {
    let mut slots = [httparse::EMPTY_HEADER; HEADERS];
    match parse_with(buf, &mut slots) {
        Err(httparse::Error::TooManyHeaders) => {
            parse_with(buf, &mut vec![httparse::EMPTY_HEADER; MANY_HEADERS])
                .unwrap_or(Parsed::Invalid)
        }
        other => other.unwrap_or(Parsed::Invalid),
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    slots: &mut [httparse::Header<'b>],
) -> Result<Parsed, httparse::Error> {
    let mut head = httparse::Request::new(slots);
    let httparse::Status::Complete(head_len) = head.parse(buf)? else {
        return Ok(Parsed::Incomplete(None));
    };
    let mut headers = HashMap::with_capacity(head.headers.len());
    for h in head.headers.iter() {
        let value = String::from_utf8_lossy(h.value).trim().to_owned();
        headers.insert(h.name.to_ascii_lowercase(), value);
    }
    // An unreadable length counts as none, as before httparse: the tests
    // that send one check what the relay does, not what n8n would.
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let total = head_len.saturating_add(length);
    let Some(raw) = buf.get(head_len..total) else {
        return Ok(Parsed::Incomplete(Some(total)));
    };
    let parts = headers
        .get("content-type")
        .and_then(|t| multipart::boundary(t))
        .map(|b| multipart::parse(&b, raw))
        .unwrap_or_default();
    let body = if parts.is_empty() {
        serde_json::from_slice(raw).unwrap_or(serde_json::Value::Null)
    } else {
        multipart::n8n_view(&parts).0
    };
    let recorded = Recorded {
        method: head.method.unwrap_or_default().to_owned(),
        path: head.path.unwrap_or_default().to_owned(),
        headers,
        body,
        parts,
    };
    Ok(Parsed::Complete(recorded, total))
}

/// Reads the next request of a keep-alive connection. `buf` keeps what
/// arrived after it (a pipelined request) for the next call. `None`: the
/// client closed the connection, or sent something that is not HTTP/1.x.
pub(super) async fn read(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    // Nothing new is parsed until at least this many bytes are there.
    let mut wanted = 0;
    loop {
        if buf.len() >= wanted {
            match parse(buf) {
                Parsed::Complete(request, used) => {
                    buf.drain(..used);
                    return Some(request);
                }
                Parsed::Incomplete(total) => wanted = total.unwrap_or(buf.len() + 1),
                Parsed::Invalid => return None,
            }
        }
        // Room for a whole body at once when it is known to come; the
        // cap keeps a lying Content-Length from allocating gigabytes.
        let missing = wanted.saturating_sub(buf.len()).clamp(4096, 1 << 20);
        buf.reserve(missing);
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_complete_with_its_body() {
        let bytes = b"POST /webhook/chat HTTP/1.1\r\nContent-Length: 15\r\n\r\n{\"chatInput\":";
        assert!(matches!(parse(bytes), Parsed::Incomplete(Some(66))));
        let mut whole = bytes.to_vec();
        whole.extend_from_slice(b"1}GET / HTTP/1.1\r\n");
        let Parsed::Complete(r, used) = parse(&whole) else {
            panic!("complete");
        };
        assert_eq!(used, 66);
        assert_eq!(r.body["chatInput"], 1);
        assert!(matches!(parse(&whole[used..]), Parsed::Incomplete(None)));
    }

    #[test]
    fn many_headers_are_still_a_request() {
        let mut bytes = b"GET /x HTTP/1.1\r\n".to_vec();
        for i in 0..200 {
            bytes.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        let Parsed::Complete(r, _) = parse(&bytes) else {
            panic!("complete");
        };
        assert_eq!(r.headers.len(), 200);
    }

    #[test]
    fn garbage_is_invalid() {
        assert!(matches!(
            parse(b"\x00\x01 not http\r\n\r\n"),
            Parsed::Invalid
        ));
    }
}
