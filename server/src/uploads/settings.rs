//! What the uploads are set up with ([`Settings`]): sizes in bytes and
//! durations already parsed, converted once from the flags
//! (`--allow-file-uploads` and the `Uploads` group) by `config`, so this
//! module never sees a flag struct.

use std::path::PathBuf;
use std::time::Duration;

/// The rules and bounds of the uploads, when they are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Allowed MIME types, comma-separated, as n8n writes them.
    pub allowed_types: String,
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Most files per message.
    pub max_files_per_message: u32,
    /// Bytes kept at once, all sessions together.
    pub max_stored_bytes: u64,
    /// Uploads kept at once, all sessions together.
    pub max_stored: usize,
    /// Uploads one client address may hold at once.
    pub max_per_address: usize,
    /// Bytes one client address may hold at once; `None`: a quarter of
    /// [`Self::max_stored_bytes`].
    pub max_bytes_per_address: Option<u64>,
    /// Uploads one client address may start per minute.
    pub per_minute_per_address: u32,
    /// An upload's body must bring 16 KiB in each window this long.
    pub stall_timeout: Duration,
    /// How long an upload is kept when its message is not answered.
    pub retention: Duration,
    /// Where uploads wait on disk; `None`: a fresh private directory in
    /// the system's temp dir.
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
impl Settings {
    /// The flags' defaults, with uploads in `dir` (a fresh temp dir when
    /// `None`): for tests in this crate, which build the settings, not the
    /// flags (`config::uploads` checks the flags convert to these).
    pub(crate) fn for_tests(dir: Option<PathBuf>) -> Self {
        Settings {
            allowed_types: "image/*,application/pdf,text/plain".into(),
            max_file_bytes: 10 << 20,
            max_files_per_message: 5,
            max_stored_bytes: 256 << 20,
            max_stored: 2000,
            max_per_address: 200,
            max_bytes_per_address: None,
            per_minute_per_address: 120,
            stall_timeout: Duration::from_secs(30),
            retention: Duration::from_secs(30 * 60),
            dir,
        }
    }
}
