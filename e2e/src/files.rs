//! Getting files into the page the three ways a user does: the file
//! picker (WebDriver types paths into `<input type=file
//! data-testid=attach>`, as chromedriver does for a real picker), a drop
//! onto the chat and a paste into the input (a `DataTransfer` holding
//! `File`s, dispatched as the browser would) — and reading the chips back.

use fantoccini::Locator;

use crate::browser::Browser;
use crate::Result;

/// A file for [`drop_files`] / [`paste_files`]: name, type, bytes.
#[derive(Debug, Clone)]
pub struct WebFile {
    /// The file's name.
    pub name: String,
    /// Its MIME type.
    pub mime: String,
    /// Its bytes (or, with `zeros`, only the first bytes).
    pub bytes: Vec<u8>,
    /// Zero bytes appended (a large file without shipping its bytes).
    pub zeros: usize,
}

impl WebFile {
    /// A file of exactly `bytes`.
    pub fn new(name: &str, mime: &str, bytes: &[u8]) -> WebFile {
        WebFile {
            name: name.into(),
            mime: mime.into(),
            bytes: bytes.to_vec(),
            zeros: 0,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "type": self.mime, "bytes": self.bytes, "zeros": self.zeros,
        })
    }
}

/// Builds `window.__files` (a `DataTransfer`) from `arguments[0]`.
const BUILD: &str = "const dt = new DataTransfer();\n\
    for (const f of arguments[0]) {\n\
      const head = new Uint8Array(f.bytes);\n\
      const parts = [head];\n\
      if (f.zeros > 0) parts.push(new Uint8Array(f.zeros));\n\
      dt.items.add(new File(parts, f.name, { type: f.type }));\n\
    }\n";

/// Picks files with the attach input: `paths` on disk, as the picker would.
pub async fn pick(browser: &Browser, paths: &[std::path::PathBuf]) -> Result {
    let input = browser
        .client
        .find(Locator::Css("[data-testid=attach]"))
        .await
        .map_err(|e| format!("the attach input: {e}"))?;
    let joined = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    input
        .send_keys(&joined)
        .await
        .map_err(|e| format!("picking files: {e}"))
}

/// Drags `files` over the chat and drops them.
pub async fn drop_files(browser: &Browser, files: &[WebFile]) -> Result {
    let script = format!(
        "{BUILD}const target = document.querySelector('.chat');\n\
         target.dispatchEvent(new DragEvent('dragover', {{ dataTransfer: dt, bubbles: true, cancelable: true }}));\n\
         const dropped = target.dispatchEvent(new DragEvent('drop', {{ dataTransfer: dt, bubbles: true, cancelable: true }}));\n\
         return !dropped;"
    );
    let handled = browser
        .eval_with(&script, vec![files.iter().map(WebFile::to_json).collect()])
        .await?;
    if handled != serde_json::Value::Bool(true) {
        return Err("the chat did not take the drop".into());
    }
    Ok(())
}

/// Pastes `files` into the message input (like a screenshot from the
/// clipboard).
pub async fn paste_files(browser: &Browser, files: &[WebFile]) -> Result {
    let script = format!(
        "{BUILD}const input = document.querySelector('[data-testid=message-input]');\n\
         input.focus();\n\
         const pasted = input.dispatchEvent(new ClipboardEvent('paste', {{ clipboardData: dt, bubbles: true, cancelable: true }}));\n\
         return !pasted;"
    );
    let handled = browser
        .eval_with(&script, vec![files.iter().map(WebFile::to_json).collect()])
        .await?;
    if handled != serde_json::Value::Bool(true) {
        return Err("the input did not take the paste".into());
    }
    Ok(())
}

/// One attachment chip as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chip {
    /// `data-name`.
    pub name: String,
    /// The thumbnail's `src`, if it shows one.
    pub thumb: Option<String>,
}

/// The attachment chips inside `scope` (a CSS selector).
pub async fn chips(browser: &Browser, scope: &str) -> Result<Vec<Chip>> {
    let v = browser
        .eval_with(
            "const scope = document.querySelector(arguments[0]);\n\
             if (!scope) return [];\n\
             return Array.from(scope.querySelectorAll('[data-testid=attachment]')).map(c => {\n\
               const img = c.querySelector('img');\n\
               return { name: c.dataset.name, thumb: img ? img.getAttribute('src') : null };\n\
             });",
            vec![scope.into()],
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .map(|c| Chip {
                    name: c["name"].as_str().unwrap_or_default().to_owned(),
                    thumb: c["thumb"].as_str().map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The composer's chips.
pub async fn draft_chips(browser: &Browser) -> Result<Vec<Chip>> {
    chips(browser, "[data-testid=draft-attachments]").await
}

/// The chips of sent message `id`.
pub async fn message_chips(browser: &Browser, id: &str) -> Result<Vec<Chip>> {
    chips(browser, &format!("[data-testid=message][data-id=\"{id}\"]")).await
}
