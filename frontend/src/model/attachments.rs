//! Files attached to a message, as the page knows them: what is shown
//! (name, type, size, a small thumbnail for images), whether the relay has
//! the bytes yet (the upload's id), and the relay's rules checked before
//! anything is uploaded — the page refuses what the relay would refuse.

use serde::{Deserialize, Serialize};
use shared::UploadRules;

/// One attached file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's name.
    pub name: String,
    /// Its MIME type.
    #[serde(rename = "type")]
    pub mime: String,
    /// Its size in bytes.
    pub size: u64,
    /// A small `data:` image for images (kept across reloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
    /// The relay's id for it, once every byte is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
}

impl Attachment {
    /// A file as picked (not uploaded yet).
    pub fn new(name: &str, mime: &str, size: u64) -> Self {
        Attachment {
            name: name.to_owned(),
            mime: mime.to_owned(),
            size,
            thumb: None,
            upload: None,
        }
    }

    /// Whether it is an image (shown as a thumbnail).
    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }

    /// The reference a message frame carries (once uploaded).
    pub fn file_ref(&self) -> Option<shared::FileRef> {
        Some(shared::FileRef {
            upload: self.upload.clone()?,
            name: self.name.clone(),
            mime: self.mime.clone(),
            size: self.size,
        })
    }
}

/// Why a file cannot be attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The relay does not take files.
    Off,
    /// Its type is not allowed.
    Type {
        /// The file.
        name: String,
    },
    /// It is larger than allowed.
    Size {
        /// The file.
        name: String,
        /// The bound, bytes.
        max: u64,
    },
    /// One file more than a message may carry.
    Count {
        /// The bound.
        max: u32,
    },
}

/// Checks one more file (`already` are attached) against the relay's rules.
pub fn check(
    rules: Option<&UploadRules>,
    name: &str,
    mime: &str,
    size: u64,
    already: usize,
) -> Result<(), Refusal> {
    let Some(rules) = rules else {
        return Err(Refusal::Off);
    };
    if already >= rules.max_files as usize {
        return Err(Refusal::Count {
            max: rules.max_files,
        });
    }
    if !rules.allows_type(mime) {
        return Err(Refusal::Type {
            name: name.to_owned(),
        });
    }
    if size > rules.max_bytes || size == 0 {
        return Err(Refusal::Size {
            name: name.to_owned(),
            max: rules.max_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> UploadRules {
        UploadRules {
            allowed_types: "image/*,application/pdf".into(),
            max_bytes: 1000,
            max_files: 2,
        }
    }

    #[test]
    fn the_page_refuses_what_the_relay_would() {
        let r = rules();
        assert_eq!(check(Some(&r), "a.png", "image/png", 10, 0), Ok(()));
        assert_eq!(check(Some(&r), "a.pdf", "application/pdf", 1000, 1), Ok(()));
        assert_eq!(
            check(Some(&r), "a.zip", "application/zip", 10, 0),
            Err(Refusal::Type {
                name: "a.zip".into()
            })
        );
        assert_eq!(
            check(Some(&r), "big.png", "image/png", 1001, 0),
            Err(Refusal::Size {
                name: "big.png".into(),
                max: 1000
            })
        );
        assert!(
            matches!(
                check(Some(&r), "e.png", "image/png", 0, 0),
                Err(Refusal::Size { .. })
            ),
            "empty"
        );
        assert_eq!(
            check(Some(&r), "c.png", "image/png", 10, 2),
            Err(Refusal::Count { max: 2 })
        );
        assert_eq!(check(None, "a.png", "image/png", 10, 0), Err(Refusal::Off));
    }

    #[test]
    fn sizes_and_references() {
        let mut a = Attachment::new("dot.png", "image/png", 463);
        assert!(a.is_image());
        assert_eq!(a.file_ref(), None, "not uploaded yet");
        a.upload = Some("up-1".into());
        assert_eq!(a.file_ref().map(|f| f.upload), Some("up-1".into()));
    }
}
