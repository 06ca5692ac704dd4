//! The stand-in's side of file uploads: reading `multipart/form-data` (with
//! `multer`) into parts, in order, the way n8n's Chat Trigger receives them
//! (`ChatTrigger.node.js` `handleFormData`); what a workflow then sees is
//! [`n8n_view`] (rules in `fixtures/uploads/README.md`).

mod view;

use std::convert::Infallible;

use futures_util::FutureExt;

pub use view::{n8n_view, pretty_bytes};

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    /// `name="…"`.
    pub name: String,
    /// `filename="…"`, for files.
    pub filename: Option<String>,
    /// The part's `Content-Type`, for files.
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    multer::parse_boundary(content_type).ok()
}

/// The parts of `body`, in order; a malformed body yields the parts before
/// the damage (n8n's formidable also keeps what it read).
pub fn parse(boundary: &str, body: &[u8]) -> Vec<FormPart> {
    // multer reads a stream; this one is already in memory, so every poll
    // is ready and the future completes on its first poll.
    let whole =
        futures_util::stream::iter([Ok::<_, Infallible>(bytes::Bytes::copy_from_slice(body))]);
    let mut parts = Vec::new();
    let read = read_parts(multer::Multipart::new(whole, boundary), &mut parts);
    // `None` (still pending) cannot happen for an in-memory body; the
    // parts read until then are kept either way.
    let _ = read.now_or_never();
    parts
}

async fn read_parts(
    mut multipart: multer::Multipart<'_>,
    parts: &mut Vec<FormPart>,
) -> multer::Result<()> {
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        // The header as sent: multer's parsed `Mime` would normalise it.
        let content_type = field
            .headers()
            .get("content-type")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned());
        let bytes = field.bytes().await?.to_vec();
        parts.push(FormPart {
            name,
            filename,
            content_type,
            bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"chatInput\"\r\n\r\nh\xc3\xa9\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a b.txt\"\r\n\
Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n--XyZ--\r\n";

    #[test]
    fn parts_in_order_with_their_bytes() {
        let parts = parse("XyZ", BODY);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "chatInput");
        assert_eq!(parts[0].bytes, "hé".as_bytes());
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].filename.as_deref(), Some("a b.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        // A CRLF inside a file is content; only CRLF + delimiter ends it.
        assert_eq!(parts[1].bytes, b"line 1\r\nline 2");
    }

    #[test]
    fn a_cut_body_keeps_the_parts_before_the_cut() {
        let cut = &BODY[..BODY.len() - 30];
        let parts = parse("XyZ", cut);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "chatInput");
    }

    #[test]
    fn boundaries_of_browsers_and_reqwest() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----WebKitFormBoundaryN8n").as_deref(),
            Some("----WebKitFormBoundaryN8n")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; boundary=\"a1-b2\"").as_deref(),
            Some("a1-b2")
        );
        assert_eq!(boundary("application/json"), None);
    }
}
