//! The stand-in's side of file uploads: reading `multipart/form-data` the
//! way n8n's Chat Trigger does (`ChatTrigger.node.js` `handleFormData`), and
//! the item a workflow then sees (`../shared/n8n/uploads/*.seen.json`).

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
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return None;
    }
    content_type.split(';').find_map(|p| {
        p.trim()
            .strip_prefix("boundary=")
            .map(|b| b.trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn param(disposition: &str, key: &str) -> Option<String> {
    disposition.split(';').find_map(|p| {
        let p = p.trim();
        p.strip_prefix(&format!("{key}="))
            .map(|v| v.trim_matches('"').to_owned())
    })
}

/// The parts of `body`, in order.
pub fn parse(boundary: &str, body: &[u8]) -> Vec<FormPart> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let Some(mut at) = find(body, delimiter.as_bytes(), 0) else {
        return parts;
    };
    loop {
        at += delimiter.len();
        if body.get(at..at + 2) == Some(b"--") {
            return parts; // the closing delimiter
        }
        at += 2; // CRLF
        let Some(head_end) = find(body, b"\r\n\r\n", at) else {
            return parts;
        };
        let head = String::from_utf8_lossy(&body[at..head_end]).into_owned();
        let content_start = head_end + 4;
        let next_delimiter = format!("\r\n{delimiter}");
        let Some(end) = find(body, next_delimiter.as_bytes(), content_start) else {
            return parts;
        };
        let mut name = String::new();
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    name = param(value, "name").unwrap_or_default();
                    filename = param(value, "filename");
                }
                "content-type" => content_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        parts.push(FormPart {
            name,
            filename,
            content_type,
            bytes: body[content_start..end].to_vec(),
        });
        at = end + 2;
    }
}

/// n8n's human-readable size: "463 B", "5.24 MB", "17.8 MB".
pub fn pretty_bytes(n: u64) -> String {
    if n < 1000 {
        return format!("{n} B");
    }
    let units = ["kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = "B";
    for u in units {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    // Three significant digits, trailing zeros dropped.
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text} {unit}")
}

fn file_type(mime: &str) -> Option<&'static str> {
    let mime = mime.to_ascii_lowercase();
    if mime.starts_with("application/json") {
        Some("json")
    } else if mime.starts_with("image/") {
        Some("image")
    } else if mime.starts_with("audio/") {
        Some("audio")
    } else if mime.starts_with("video/") {
        Some("video")
    } else if mime.starts_with("text/") {
        Some("text")
    } else if mime == "application/pdf" {
        Some("pdf")
    } else {
        None
    }
}

fn extension(mime: &str, filename: &str) -> String {
    match mime.to_ascii_lowercase().as_str() {
        "image/png" => "png".into(),
        "image/jpeg" => "jpg".into(),
        "application/pdf" => "pdf".into(),
        "text/plain" => "txt".into(),
        "application/zip" => "zip".into(),
        _ => filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default(),
    }
}

/// What the workflow sees: `$json` (text fields as strings in part order,
/// then `files`) and the binary keys, per n8n's rules (one counter per part
/// name, so only parts named `files` get `data0`, `data1`, …).
pub fn n8n_view(parts: &[FormPart]) -> (serde_json::Value, Vec<String>) {
    let mut json = serde_json::Map::new();
    let mut files = Vec::new();
    let mut binary_keys = Vec::new();
    let mut per_name: std::collections::HashMap<&str, usize> = Default::default();
    for part in parts {
        match &part.filename {
            None => {
                json.insert(
                    part.name.clone(),
                    String::from_utf8_lossy(&part.bytes).into_owned().into(),
                );
            }
            Some(filename) => {
                let n = per_name.entry(part.name.as_str()).or_insert(0);
                let key = format!("data{n}");
                *n += 1;
                let mime = part.content_type.clone().unwrap_or_default();
                let mut file = serde_json::Map::new();
                file.insert("fileName".into(), filename.clone().into());
                file.insert(
                    "fileSize".into(),
                    pretty_bytes(part.bytes.len() as u64).into(),
                );
                if let Some(kind) = file_type(&mime) {
                    file.insert("fileType".into(), kind.into());
                }
                file.insert("mimeType".into(), mime.clone().into());
                file.insert("fileExtension".into(), extension(&mime, filename).into());
                file.insert("binaryKey".into(), key.clone().into());
                files.push(serde_json::Value::Object(file));
                if !binary_keys.contains(&key) {
                    binary_keys.push(key);
                }
            }
        }
    }
    if !files.is_empty() {
        json.insert("files".into(), files.into());
    }
    (serde_json::Value::Object(json), binary_keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stand-in sees what a real n8n 2.8.4 saw for the same bytes.
    #[test]
    fn the_view_of_the_captured_uploads_is_n8ns() {
        for name in ["01-one-png", "02-three-files", "03-three-files-streaming"] {
            let (parts, seen) = crate::upload_capture(name).expect(name);
            let (json, keys) = n8n_view(&parts);
            assert_eq!(json, seen["json"], "{name}");
            let expected: Vec<String> = seen["binaryKeys"]
                .as_array()
                .expect("keys")
                .iter()
                .map(|k| k.as_str().unwrap_or_default().to_owned())
                .collect();
            assert_eq!(keys, expected, "{name}");
            // The bytes are byte-exact: their sha256 as n8n stored them.
            for (i, part) in parts.iter().filter(|p| p.filename.is_some()).enumerate() {
                let stored = &seen["binary"][format!("data{i}")];
                assert_eq!(stored["bytes"], part.bytes.len(), "{name} data{i}");
            }
        }
    }

    #[test]
    fn sizes_as_n8n_writes_them() {
        assert_eq!(pretty_bytes(463), "463 B");
        assert_eq!(pretty_bytes(40), "40 B");
        assert_eq!(pretty_bytes(5_242_880), "5.24 MB");
        assert_eq!(pretty_bytes(17_825_792), "17.8 MB");
        assert_eq!(pretty_bytes(1000), "1 kB");
    }
}
