// Shared with `server/build.rs` (through `include!`), which compresses
// the page it builds into the binary: no crate paths, no inner docs here.

/// Whether a file of this name is worth compressing (text and wasm; not
/// images or fonts that are compressed already).
pub fn compressible(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "html"
            | "js"
            | "mjs"
            | "css"
            | "wasm"
            | "json"
            | "webmanifest"
            | "svg"
            | "txt"
            | "map"
            | "ico"
            | "xml"
    )
}

/// `bytes` compressed with brotli at `quality` (0–11).
pub fn brotli_bytes(bytes: &[u8], quality: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, 22);
        // Writing into a Vec cannot fail.
        let _ = std::io::Write::write_all(&mut writer, bytes);
    }
    out
}

/// `bytes` compressed with gzip at `level` (0–9).
pub fn gzip_bytes(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::new(level),
    );
    let _ = std::io::Write::write_all(&mut encoder, bytes);
    encoder.finish().unwrap_or_default()
}

/// A compressed form is kept only when it saves at least a tenth.
pub fn worth_it(original: usize, compressed: usize) -> bool {
    compressed.saturating_mul(10) < original.saturating_mul(9)
}
