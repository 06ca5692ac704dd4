//! Files attached to chat messages: off unless asked for, like n8n's
//! "Allow File Uploads" — and unlike n8n, every rule is enforced here (n8n
//! accepts any file on any public Chat Trigger and drops oversize ones
//! silently).

use std::path::PathBuf;
use std::time::Duration;

use super::values::parse_bytes_u64;
use crate::uploads::Settings;

/// Files attached to chat messages.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Uploads")]
pub struct UploadFlags {
    /// Let the page attach files to messages.
    ///
    /// Sent to n8n as the Chat Trigger's `files`, multipart like n8n's widget.
    #[arg(long, env = "RELAY_ALLOW_FILE_UPLOADS")]
    pub allow_file_uploads: bool,

    /// Allowed MIME types, comma-separated (e.g. "image/*,application/pdf").
    ///
    /// Written as n8n writes them; checked against the file's bytes too.
    #[arg(
        long,
        env = "RELAY_ALLOWED_FILE_TYPES",
        default_value = "image/*,application/pdf,text/plain"
    )]
    pub allowed_file_types: String,

    /// Largest file (e.g. 10MiB).
    #[arg(long, env = "RELAY_MAX_UPLOAD_BYTES", default_value = "10MiB", value_parser = super::values::parse_positive_bytes_u64)]
    pub max_upload_bytes: u64,

    /// Most files per message.
    #[arg(long, env = "RELAY_MAX_FILES_PER_MESSAGE", default_value_t = 5)]
    pub max_files_per_message: u32,

    /// Bytes of uploads kept at once, all sessions together.
    ///
    /// E.g. 256MiB. More are refused until some are sent or expire.
    #[arg(long, env = "RELAY_MAX_STORED_UPLOAD_BYTES", default_value = "256MiB", value_parser = parse_bytes_u64)]
    pub max_stored_upload_bytes: u64,

    /// Uploads kept at once (under way or stored), all sessions together.
    ///
    /// Each is a file on disk and an entry in memory, so their number is
    /// bounded as well as their bytes (more → `507`).
    #[arg(long, env = "RELAY_MAX_STORED_UPLOADS", default_value_t = 2000)]
    pub max_stored_uploads: usize,

    /// Uploads one client address may hold at once, all its sessions together.
    ///
    /// An IPv6 /64 counts as one address. Sessions cost nothing to open, so the
    /// per-session bound alone does not stop one address (more → `429`).
    #[arg(long, env = "RELAY_MAX_UPLOADS_PER_IP", default_value_t = 200)]
    pub max_uploads_per_ip: usize,

    /// Bytes of uploads one client address may hold at once.
    ///
    /// Default: a quarter of `--max-stored-upload-bytes`, so one address can
    /// never fill the store for everyone (more → `429`).
    #[arg(long, env = "RELAY_MAX_UPLOAD_BYTES_PER_IP", value_parser = parse_bytes_u64)]
    pub max_upload_bytes_per_ip: Option<u64>,

    /// Uploads one client address may start per minute.
    ///
    /// A burst of this many, then this rate; more → `429`.
    #[arg(long, env = "RELAY_UPLOADS_PER_MINUTE_PER_IP", default_value_t = 120)]
    pub uploads_per_minute_per_ip: u32,

    /// End an upload whose body brings under 16 KiB in this long (`408`).
    ///
    /// Each window of this length, an upload's body must bring at least
    /// 16 KiB (or the rest of the file); one that stops arriving or only
    /// trickles is ended and its place, reserved bytes and file given back.
    #[arg(help_heading = "Timing", long, env = "RELAY_UPLOAD_STALL_TIMEOUT", default_value = "30s", value_parser = super::values::parse_positive_duration)]
    pub upload_stall_timeout: Duration,

    /// How long an upload is kept when its message is not answered.
    ///
    /// An answered message's files are deleted at once; a session that has been
    /// gone for `--retain-for` loses its unsent uploads sooner.
    #[arg(long, env = "RELAY_UPLOAD_RETENTION", default_value = "30m", value_parser = super::values::parse_positive_duration)]
    pub upload_retention: Duration,

    /// Where uploads wait on disk (a directory of the relay's own).
    ///
    /// Emptied at start and stop; refused if other users may write to it.
    /// Default: a fresh private directory with a random name in the system's
    /// temp dir.
    #[arg(long, env = "RELAY_UPLOAD_DIR")]
    pub upload_dir: Option<PathBuf>,
}

impl UploadFlags {
    /// The uploads' settings; `None` without `--allow-file-uploads`.
    pub fn settings(&self) -> Option<Settings> {
        self.allow_file_uploads.then(|| Settings {
            allowed_types: self.allowed_file_types.clone(),
            max_file_bytes: self.max_upload_bytes,
            max_files_per_message: self.max_files_per_message,
            max_stored_bytes: self.max_stored_upload_bytes,
            max_stored: self.max_stored_uploads,
            max_per_address: self.max_uploads_per_ip,
            max_bytes_per_address: self.max_upload_bytes_per_ip,
            per_minute_per_address: self.uploads_per_minute_per_ip,
            stall_timeout: self.upload_stall_timeout,
            retention: self.upload_retention,
            dir: self.upload_dir.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::uploads::Settings;
    use crate::Config;

    #[test]
    fn the_flags_become_the_uploads_settings_only_when_allowed() {
        assert_eq!(Config::defaults().uploads.settings(), None, "off");
        let on = Config::from_args_without_env(["relay", "--allow-file-uploads"]);
        assert_eq!(on.uploads.settings(), Some(Settings::for_tests(None)));
        let set = Config::from_args_without_env([
            "relay",
            "--allow-file-uploads",
            "--max-upload-bytes-per-ip",
            "1MiB",
            "--upload-dir",
            "/tmp/up",
        ]);
        let settings = set.uploads.settings().expect("on");
        assert_eq!(settings.max_bytes_per_address, Some(1 << 20));
        assert_eq!(settings.dir, Some("/tmp/up".into()));
    }
}
