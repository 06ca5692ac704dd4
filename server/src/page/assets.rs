//! The page's files in memory, each with what serving it needs: its
//! type, its brotli and gzip forms, whether it may be cached for good (the
//! hashed files trunk names) and a validator for the rest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::compress::{brotli_bytes, compressible, gzip_bytes, worth_it};
use super::embedded::FILES;

/// The most a `--static-dir` may hold: it is read into memory at start.
pub const MAX_PAGE_BYTES: u64 = 64 * 1024 * 1024;
/// The most files a `--static-dir` may hold.
pub const MAX_PAGE_FILES: usize = 4096;
/// Brotli quality for a `--static-dir` compressed at start (the built-in
/// page uses 11, made once at build time): 40 ms instead of a second for
/// the page's wasm, about 11 % larger (`.br` files beside the assets are
/// used as they are).
pub const START_BROTLI_QUALITY: u32 = 9;
/// Gzip level for a `--static-dir` compressed at start.
pub const START_GZIP_LEVEL: u32 = 9;

/// One file of the page.
#[derive(Debug, Clone)]
pub struct Asset {
    /// The bytes as they are.
    pub identity: Bytes,
    /// Brotli form.
    pub brotli: Option<Bytes>,
    /// Gzip form.
    pub gzip: Option<Bytes>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// A hashed name (`frontend-<hash>.js`): its content never changes, so
    /// browsers may keep it for a year without asking.
    pub immutable: bool,
    /// A strong validator of the bytes (quoted, without the coding).
    pub etag: String,
}

/// A strong validator of `bytes`: the start of their SHA-256, quoted.
pub fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

impl Asset {
    /// An asset with its type, cache rule and validator from its name and bytes.
    pub fn new(name: &str, identity: Bytes, brotli: Option<Bytes>, gzip: Option<Bytes>) -> Asset {
        Asset {
            content_type: content_type(name),
            immutable: is_hashed(name),
            etag: etag(&identity),
            identity,
            brotli,
            gzip,
        }
    }
}

/// Where the page came from (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into the binary.
    Embedded,
    /// Read from a directory at start.
    Dir(PathBuf),
    /// Not found: only the WebSocket and the API work.
    Missing(PathBuf),
}

/// The whole page.
#[derive(Debug)]
pub struct PageAssets {
    files: HashMap<String, Asset>,
    origin: Origin,
    /// What `index.html` tells the browser to fetch early.
    preload: super::preload::Preload,
}

/// A `--static-dir` too large to hold in memory.
#[derive(Debug, thiserror::Error)]
#[error("--static-dir {dir}: more than {MAX_PAGE_FILES} files or {MAX_PAGE_BYTES} bytes; point it at trunk's dist/")]
pub struct TooLarge {
    dir: String,
}

impl PageAssets {
    /// The page from `static_dir` if given; else the one built into the
    /// binary; else `./dist` if it exists.
    pub fn load(static_dir: Option<&Path>) -> Result<PageAssets, TooLarge> {
        match static_dir {
            Some(dir) => PageAssets::from_dir(dir),
            None if !FILES.is_empty() => Ok(PageAssets::embedded()),
            None => PageAssets::from_dir(Path::new("dist")),
        }
    }

    /// The page built into the binary.
    pub fn embedded() -> PageAssets {
        let files = FILES
            .iter()
            .map(|f| {
                let asset = Asset::new(
                    f.path,
                    Bytes::from_static(f.bytes),
                    f.brotli.map(Bytes::from_static),
                    f.gzip.map(Bytes::from_static),
                );
                (f.path.to_owned(), asset)
            })
            .collect();
        PageAssets {
            files,
            origin: Origin::Embedded,
            preload: Default::default(),
        }
    }

    /// The page in `dir`, read whole (bounded); files without a `.br` /
    /// `.gz` beside them are compressed now.
    pub fn from_dir(dir: &Path) -> Result<PageAssets, TooLarge> {
        if !dir.join("index.html").is_file() {
            return Ok(PageAssets {
                files: HashMap::new(),
                origin: Origin::Missing(dir.to_owned()),
                preload: Default::default(),
            });
        }
        let too_large = || TooLarge {
            dir: dir.display().to_string(),
        };
        let mut found = Vec::new();
        let mut total = 0u64;
        let mut pending = vec![dir.to_owned()];
        while let Some(at) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&at) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    pending.push(path);
                    continue;
                }
                total += meta.len();
                if found.len() >= MAX_PAGE_FILES || total > MAX_PAGE_BYTES {
                    return Err(too_large());
                }
                found.push(path);
            }
        }
        let mut files = HashMap::new();
        for path in &found {
            let name = path.to_string_lossy();
            if name.ends_with(".br") || name.ends_with(".gz") {
                continue;
            }
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            // Hidden files (trunk's `.trunk-lock`, editors' droppings) are not the page.
            let Some(key) =
                relative_key(dir, path).filter(|k| !k.split('/').any(|p| p.starts_with('.')))
            else {
                continue;
            };
            let beside = |ext: &str| -> Option<Bytes> {
                let mut p = path.clone().into_os_string();
                p.push(ext);
                std::fs::read(PathBuf::from(p)).ok().map(Bytes::from)
            };
            let (mut brotli, mut gzip) = (beside(".br"), beside(".gz"));
            if compressible(&key) {
                if brotli.is_none() {
                    let c = brotli_bytes(&bytes, START_BROTLI_QUALITY);
                    brotli = worth_it(bytes.len(), c.len()).then(|| Bytes::from(c));
                }
                if gzip.is_none() {
                    let c = gzip_bytes(&bytes, START_GZIP_LEVEL);
                    gzip = worth_it(bytes.len(), c.len()).then(|| Bytes::from(c));
                }
            }
            let asset = Asset::new(&key, Bytes::from(bytes), brotli, gzip);
            files.insert(key, asset);
        }
        Ok(PageAssets {
            files,
            origin: Origin::Dir(dir.to_owned()),
            preload: Default::default(),
        })
    }

    /// The file at `path` (`a/b.js`, no leading `/`).
    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }

    /// Adds or replaces the file at `path` (the catalogues the relay
    /// rewrites at start).
    pub fn insert(&mut self, path: &str, asset: Asset) {
        self.files.insert(path.to_owned(), asset);
    }

    /// Sets the preload hints of `index.html` (once the catalogues'
    /// served names are known).
    pub fn set_preload(&mut self, preload: super::preload::Preload) {
        self.preload = preload;
    }

    /// The preload hints of `index.html`.
    pub fn preload(&self) -> &super::preload::Preload {
        &self.preload
    }

    /// `index.html`, if there is a page.
    pub fn index(&self) -> Option<&Asset> {
        self.files.get("index.html")
    }

    /// `index.html` as text (for the CSP's script hashes).
    pub fn index_html(&self) -> Option<&str> {
        self.index()
            .and_then(|a| std::str::from_utf8(&a.identity).ok())
    }

    /// Where the page came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there is no page at all.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// `path` under `dir` as a URL path: `/`-separated, no leading `/`.
fn relative_key(dir: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(dir).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Trunk's hashed names: `<stem>-<hash>` before the extension or `_bg`,
/// the hash a 64-bit number in hex without leading zeros (so 10 to 16
/// digits in practice; fewer is one chance in millions).
pub fn is_hashed(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.match_indices('-').any(|(i, _)| {
        let rest = &file[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        (10..=16).contains(&digits) && matches!(rest.as_bytes().get(digits), Some(b'.' | b'_'))
    })
}

/// The `Content-Type` for a file name.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunks_hashed_names_are_immutable_and_others_not() {
        assert!(is_hashed("frontend-3f2a9c01b2d4e5f6.js"));
        assert!(is_hashed("frontend-3f2a9c01b2d4e5f6_bg.wasm"));
        assert!(is_hashed("assets/style-0123456789abcdef.css"));
        assert!(
            is_hashed("frontend-adaef1db92c5d6.js"),
            "leading zeros dropped"
        );
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("embed.js"));
        assert!(!is_hashed("my-file.js"));
        assert!(!is_hashed("frontend-3f2a9c01b2d4e5f6"));
    }

    #[test]
    fn a_directory_is_read_whole_compressed_and_bounded() {
        let dir = std::env::temp_dir().join(format!("relay-assets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        let js = "console.log('hello');\n".repeat(200);
        std::fs::write(dir.join("index.html"), "<!doctype html><title>x</title>").expect("index");
        std::fs::write(dir.join("frontend-0123456789abcdef.js"), &js).expect("js");
        std::fs::write(dir.join("sub/dot.png"), b"\x89PNG\r\n\x1a\nrest").expect("png");
        let page = PageAssets::from_dir(&dir).expect("loads");
        assert_eq!(page.len(), 3);
        let asset = page.get("frontend-0123456789abcdef.js").expect("js");
        assert!(asset.immutable);
        assert_eq!(asset.content_type, "text/javascript; charset=utf-8");
        let br = asset.brotli.as_ref().expect("brotli");
        let gz = asset.gzip.as_ref().expect("gzip");
        assert!(br.len() < js.len() / 10 && gz.len() < js.len() / 5);
        let png = page.get("sub/dot.png").expect("png");
        assert!(png.brotli.is_none() && !png.immutable);
        assert!(page.index_html().is_some_and(|h| h.contains("<title>")));
        let _ = std::fs::remove_dir_all(&dir);
        // No index.html: no page (the WebSocket still works).
        let missing = PageAssets::from_dir(&dir.join("nope")).expect("loads");
        assert!(missing.is_empty());
    }
}
