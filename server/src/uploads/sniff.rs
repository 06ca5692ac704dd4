//! What a file is, by its first bytes — because the declared type is only
//! what the browser (or an attacker) says.
//!
//! A file is accepted when its declared type is allowed
//! (`--allowed-file-types`) **and** its bytes agree: formats with a known
//! signature must carry it (a "PNG" must start like a PNG, a file that
//! starts like a PDF is a PDF whatever it claims), text must be UTF-8
//! without NUL bytes, and markup a browser would run (HTML, SVG, XML) is
//! never taken as something else. Types with no signature we know and that
//! are not text are refused: what cannot be checked is not accepted.

/// What the bytes look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A format with a signature, and its MIME type.
    Known(&'static str),
    /// Readable text (UTF-8, no NUL).
    Text,
    /// Markup a browser could run (HTML, SVG, XML).
    Markup,
    /// Nothing recognisable.
    Unknown,
}

/// Bytes at an offset.
type Part = (usize, &'static [u8]);

/// (parts, MIME type): a file is of the type when **every** part — bytes
/// at an offset — is there. RIFF containers (WEBP, WAVE) need both the
/// `RIFF` at 0 and their form type at 8: the form type alone is four
/// bytes anything can carry at offset 8.
///
/// An explicit table rather than the `infer` crate's matchers: `infer`
/// 0.22's `is_webp` checks only the bytes at 8 (the very gap closed
/// here), its `is_pdf` finds `%PDF` anywhere in the first KiB (a text
/// file that mentions it would be taken for a PDF and refused as text),
/// and its `is_gif` and `is_png` look at three and four bytes. The few
/// formats the relay recognises are fixed by their specifications.
const SIGNATURES: &[(&[Part], &str)] = &[
    (&[(0, b"\x89PNG\r\n\x1a\n")], "image/png"),
    (&[(0, b"\xff\xd8\xff")], "image/jpeg"),
    (&[(0, b"GIF87a")], "image/gif"),
    (&[(0, b"GIF89a")], "image/gif"),
    (&[(0, b"RIFF"), (8, b"WEBP")], "image/webp"),
    (&[(0, b"%PDF-")], "application/pdf"),
    (&[(0, b"PK\x03\x04")], "application/zip"),
    (&[(0, b"OggS")], "audio/ogg"),
    (&[(0, b"RIFF"), (8, b"WAVE")], "audio/wav"),
    (&[(0, b"ID3")], "audio/mpeg"),
    (&[(0, b"fLaC")], "audio/flac"),
    (&[(0, b"\x1aE\xdf\xa3")], "video/webm"),
    (&[(4, b"ftyp")], "video/mp4"),
];

/// Whether `head` has `bytes` at `offset`.
fn has(head: &[u8], offset: usize, bytes: &[u8]) -> bool {
    head.get(offset..offset + bytes.len()) == Some(bytes)
}

/// What `head` (the first bytes of a file, up to a few KiB) looks like.
pub fn kind(head: &[u8]) -> Kind {
    for (parts, mime) in SIGNATURES {
        if parts
            .iter()
            .all(|(offset, bytes)| has(head, *offset, bytes))
        {
            return Kind::Known(mime);
        }
    }
    // MP3 frames without an ID3 tag: a frame sync.
    if head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0 {
        return Kind::Known("audio/mpeg");
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => Some(t),
        // A multi-byte character cut at the end of the sample is fine.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(t) if !t.contains('\0') => {
            let start = t
                .trim_start_matches('\u{feff}')
                .trim_start()
                .to_ascii_lowercase();
            let markup = [
                "<!doctype",
                "<html",
                "<svg",
                "<?xml",
                "<script",
                "<head",
                "<body",
                "<iframe",
            ];
            if markup.iter().any(|m| start.starts_with(m)) {
                Kind::Markup
            } else {
                Kind::Text
            }
        }
        _ => Kind::Unknown,
    }
}

/// Whether the declared `mime` may carry bytes of `kind`.
fn agrees(mime: &str, kind: Kind) -> bool {
    let mime = mime.to_ascii_lowercase();
    match kind {
        Kind::Known(found) => {
            found == mime
                // Office documents, EPUB and the like are ZIP files.
                || (found == "application/zip"
                    && (mime.starts_with("application/vnd.openxmlformats")
                        || mime.starts_with("application/vnd.oasis.opendocument")
                        || mime == "application/epub+zip"
                        || mime == "application/x-zip-compressed"))
                || (found == "video/mp4"
                    && matches!(mime.as_str(), "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "video/quicktime"))
                || (found == "audio/wav" && matches!(mime.as_str(), "audio/x-wav" | "audio/wave"))
                || (found == "video/webm" && mime == "audio/webm")
                || (found == "audio/ogg" && matches!(mime.as_str(), "application/ogg" | "video/ogg"))
                || (found == "image/jpeg" && mime == "image/jpg")
        }
        Kind::Text => {
            mime.starts_with("text/")
                && !matches!(mime.as_str(), "text/html" | "text/xml" | "text/javascript")
                || matches!(mime.as_str(), "application/json" | "application/x-ndjson")
        }
        Kind::Markup | Kind::Unknown => false,
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The declared type is not in `--allowed-file-types`.
    NotAllowed(String),
    /// The bytes do not match the declared type.
    Mismatch {
        /// What the file said it is.
        declared: String,
        /// What its bytes look like.
        found: String,
    },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotAllowed(mime) => write!(f, "files of type {mime} are not accepted here"),
            Refused::Mismatch { declared, found } => {
                write!(
                    f,
                    "the file says it is {declared} but its content is {found}"
                )
            }
        }
    }
}

/// Checks a file declared as `mime` whose first bytes are `head`, against
/// the allowed `patterns`. Returns the type to forward.
pub fn check(mime: &str, head: &[u8], patterns: &str) -> Result<String, Refused> {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !shared::page_config::allows_type(patterns, &mime) {
        return Err(Refused::NotAllowed(if mime.is_empty() {
            "(none)".into()
        } else {
            mime
        }));
    }
    let kind = kind(head);
    if agrees(&mime, kind) {
        return Ok(mime);
    }
    let found = match kind {
        Kind::Known(m) => m.to_owned(),
        Kind::Text => "text".to_owned(),
        Kind::Markup => "HTML or other markup".to_owned(),
        Kind::Unknown => "not something the relay can check".to_owned(),
    };
    Err(Refused::Mismatch {
        declared: mime,
        found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj";
    const ALLOWED: &str = "image/*,application/pdf,text/plain";

    #[test]
    fn a_file_is_what_its_bytes_say() {
        assert_eq!(check("image/png", PNG, ALLOWED), Ok("image/png".into()));
        assert_eq!(
            check("application/pdf", PDF, ALLOWED),
            Ok("application/pdf".into())
        );
        assert_eq!(
            check("text/plain; charset=utf-8", "héllo ✓\n".as_bytes(), ALLOWED),
            Ok("text/plain".into())
        );
        // A PDF calling itself a PNG.
        assert!(matches!(
            check("image/png", PDF, ALLOWED),
            Err(Refused::Mismatch { .. })
        ));
        // HTML calling itself text, or an image.
        for html in [
            "<!DOCTYPE html><script>alert(1)</script>",
            "  <svg onload=alert(1)>",
            "<html>",
        ] {
            assert!(
                matches!(
                    check("text/plain", html.as_bytes(), ALLOWED),
                    Err(Refused::Mismatch { .. })
                ),
                "{html}"
            );
            assert!(
                matches!(
                    check("image/png", html.as_bytes(), ALLOWED),
                    Err(Refused::Mismatch { .. })
                ),
                "{html}"
            );
        }
        assert!(matches!(
            check("image/svg+xml", b"<svg/>", "image/*"),
            Err(Refused::Mismatch { .. })
        ));
        // Binary junk calling itself text.
        assert!(matches!(
            check("text/plain", b"\x00\x01\x02", ALLOWED),
            Err(Refused::Mismatch { .. })
        ));
    }

    #[test]
    fn only_allowed_types_pass() {
        assert!(matches!(
            check("application/zip", b"PK\x03\x04", ALLOWED),
            Err(Refused::NotAllowed(_))
        ));
        assert!(matches!(
            check("", PNG, ALLOWED),
            Err(Refused::NotAllowed(_))
        ));
        assert_eq!(
            check("application/zip", b"PK\x03\x04", "*"),
            Ok("application/zip".into())
        );
        assert_eq!(
            check(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                b"PK\x03\x04rest",
                "*"
            ),
            Ok("application/vnd.openxmlformats-officedocument.wordprocessingml.document".into())
        );
        assert!(
            matches!(
                check("application/octet-stream", b"\x7fELF", "*"),
                Err(Refused::Mismatch { .. })
            ),
            "unknown bytes are not taken on trust"
        );
    }

    #[test]
    fn riff_formats_need_riff_at_the_start() {
        let webp = b"RIFF\x24\0\0\0WEBPVP8 ";
        let wave = b"RIFF\x24\0\0\0WAVEfmt ";
        assert_eq!(kind(webp), Kind::Known("image/webp"));
        assert_eq!(kind(wave), Kind::Known("audio/wav"));
        assert_eq!(check("image/webp", webp, ALLOWED), Ok("image/webp".into()));
        // The form type at 8 without `RIFF` at 0: not a WEBP, not a WAVE.
        for fake in [
            &b"<svg/>\0\0WEBPxxxx"[..],
            b"<html>  WAVEfmt ",
            b"\0\0\0\0\0\0\0\0WEBP",
        ] {
            assert_ne!(kind(fake), Kind::Known("image/webp"), "{fake:?}");
            assert_ne!(kind(fake), Kind::Known("audio/wav"), "{fake:?}");
            assert!(
                matches!(
                    check("image/webp", fake, "*"),
                    Err(Refused::Mismatch { .. })
                ),
                "{fake:?}"
            );
            assert!(
                matches!(check("audio/wav", fake, "*"), Err(Refused::Mismatch { .. })),
                "{fake:?}"
            );
        }
    }

    #[test]
    fn text_cut_inside_a_character_is_still_text() {
        let text = "grüße".as_bytes();
        assert_eq!(kind(&text[..3]), Kind::Text);
    }

    /// Voice messages (issue 27): what `MediaRecorder` makes — Opus in
    /// WebM (Chromium, Firefox) or Ogg — declared with codec parameters.
    #[test]
    fn voice_recordings_are_accepted_as_audio() {
        let webm = b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01";
        let ogg = b"OggS\0\x02\0\0\0\0\0\0\0\0";
        assert_eq!(
            check("audio/webm;codecs=opus", webm, "audio/*"),
            Ok("audio/webm".into())
        );
        assert_eq!(
            check("audio/ogg; codecs=opus", ogg, "audio/*"),
            Ok("audio/ogg".into())
        );
        // Still checked by the bytes: a "recording" that is HTML is refused.
        assert!(check("audio/webm", b"<html><script>", "audio/*").is_err());
        // And only when the operator allows audio.
        assert!(check("audio/webm", webm, ALLOWED).is_err());
    }
}
