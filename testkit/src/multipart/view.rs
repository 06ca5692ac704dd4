//! What a workflow sees of a multipart upload: `$json` and the binary keys,
//! per n8n 2.8.4's Chat Trigger (rules 1–2 of `fixtures/uploads/README.md`;
//! checked against the captured `fixtures/uploads/*.seen.json`).

use super::FormPart;

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
