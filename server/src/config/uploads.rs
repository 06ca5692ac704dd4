//! Files attached to chat messages: off unless asked for, like n8n's
//! "Allow File Uploads" — and unlike n8n, every rule is enforced here (n8n
//! accepts any file on any public Chat Trigger and drops oversize ones
//! silently).

use std::path::PathBuf;
use std::time::Duration;

/// Files attached to chat messages.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Uploads")]
pub struct UploadFlags {
    /// Let the page attach files to messages (sent to n8n as the Chat
    /// Trigger's `files`, multipart like n8n's widget).
    #[arg(long, env = "RELAY_ALLOW_FILE_UPLOADS")]
    pub allow_file_uploads: bool,

    /// Allowed MIME types, comma-separated as n8n writes them
    /// (e.g. "image/*,application/pdf"). Checked against the file's bytes too.
    #[arg(
        long,
        env = "RELAY_ALLOWED_FILE_TYPES",
        default_value = "image/*,application/pdf,text/plain"
    )]
    pub allowed_file_types: String,

    /// Largest file, in bytes.
    #[arg(long, env = "RELAY_MAX_UPLOAD_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_upload_bytes: u64,

    /// Most files per message.
    #[arg(long, env = "RELAY_MAX_FILES_PER_MESSAGE", default_value_t = 5)]
    pub max_files_per_message: u32,

    /// Bytes of uploads kept at once, all sessions together; more are
    /// refused until some are sent or expire.
    #[arg(long, env = "RELAY_MAX_STORED_UPLOAD_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_stored_upload_bytes: u64,

    /// How long an upload is kept when its message is not answered (an
    /// answered message's files are deleted at once).
    #[arg(long, env = "RELAY_UPLOAD_RETENTION", default_value = "30m", value_parser = humantime::parse_duration)]
    pub upload_retention: Duration,

    /// Where uploads wait on disk (a directory of the relay's own; emptied
    /// at start and stop). Default: a directory in the system's temp dir.
    #[arg(long, env = "RELAY_UPLOAD_DIR")]
    pub upload_dir: Option<PathBuf>,
}
