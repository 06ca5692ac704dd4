//! Files attached to chat messages (`--allow-file-uploads`).
//!
//! The page uploads each file over HTTP first (`POST /api/uploads`, see
//! [`crate::http::uploads`]) — WebSocket frames stay small — and the
//! message names the uploads. The relay checks every rule itself (n8n
//! does not: it accepts any file on any public Chat Trigger and silently
//! drops files above its own limit), keeps the bytes on disk, bounded, and
//! sends them to n8n as `multipart/form-data` the way its Chat Trigger
//! expects ([`crate::responder::n8n::multipart`]).
//!
//! - [`store`]: the bounded store on disk, and safe file names.
//! - [`own_dir`]: the directory made when `--upload-dir` is not given, and
//!   the removal of those left by relays that were killed.
//! - [`sniff`]: what a file is, by its bytes.
//! - [`settings`]: the rules and bounds, converted once from the flags.

pub mod own_dir;
pub mod settings;
pub mod sniff;
pub mod store;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shared::{ErrorCode, FileRef, UploadRules};

use crate::admission::address_rate::AddressRate;
use store::{Bounds, UploadStore};

pub use settings::Settings;

use crate::attachment::Attachment;

/// Uploads, when they are on.
#[derive(Debug)]
pub struct Uploads {
    store: UploadStore,
    rules: UploadRules,
    /// Uploads started per client address (`--uploads-per-minute-per-ip`),
    /// for a bounded number of addresses, the least recently seen
    /// forgotten first (as for the upgrade rate).
    rate: AddressRate,
    stall_timeout: Duration,
}

/// Why a message's files cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesRefused {
    /// The protocol code.
    pub code: ErrorCode,
    /// What the page shows.
    pub message: String,
}

/// Whether `dir` is `parent` or below it (compared as absolute paths
/// without `.`/`..`, resolved where they exist).
fn is_inside(dir: &Path, parent: &Path) -> bool {
    fn absolute(p: &Path) -> PathBuf {
        if let Ok(real) = p.canonicalize() {
            return real;
        }
        let base = std::env::current_dir().unwrap_or_default();
        let mut out = PathBuf::new();
        for part in base.join(p).components() {
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        // The deepest existing ancestor resolved (symlinks), the rest kept.
        let mut existing = out.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match existing.file_name() {
                Some(name) => rest.push(name.to_owned()),
                None => break,
            }
            existing.pop();
        }
        let mut real = existing.canonicalize().unwrap_or(existing);
        real.extend(rest.iter().rev());
        real
    }
    absolute(dir).starts_with(absolute(parent))
}

impl Uploads {
    /// Opens the store (uploads are on when there are `settings`). Refuses
    /// an upload directory inside the page's directory (`static_dir`):
    /// uploaded files are never served back.
    pub fn start(settings: &Settings, static_dir: Option<&Path>) -> std::io::Result<Uploads> {
        let inside = |dir: &Path| match static_dir.filter(|page| is_inside(dir, page)) {
            Some(static_dir) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "--upload-dir {} is inside --static-dir {}: uploaded files would be served",
                    dir.display(),
                    static_dir.display()
                ),
            )),
            None => Ok(()),
        };
        if let Some(dir) = &settings.dir {
            inside(dir)?;
        }
        let max_files = settings.max_files_per_message.max(1);
        let max_total = settings.max_stored_bytes;
        let store = UploadStore::open(
            settings.dir.clone(),
            Bounds {
                max_file: settings.max_file_bytes,
                max_total,
                max_files: settings.max_stored.max(1),
                // A message's files, twice over: one message being sent
                // while the next is being prepared.
                max_per_session: 2 * max_files as usize,
                max_files_per_address: settings.max_per_address.max(1),
                max_bytes_per_address: settings
                    .max_bytes_per_address
                    .unwrap_or(max_total / 4)
                    .min(max_total),
                retention: settings.retention,
            },
        )?;
        // The directory made for this run (the temp dir could be the page's).
        inside(store.dir())?;
        let share = store.bounds().max_bytes_per_address;
        if share < settings.max_file_bytes {
            tracing::warn!(
                "--max-upload-bytes-per-ip ({share}) is below --max-upload-bytes ({}): one address can never upload a file that large",
                settings.max_file_bytes
            );
        }
        Ok(Uploads {
            store,
            rules: UploadRules {
                allowed_types: settings.allowed_types.clone(),
                max_bytes: settings.max_file_bytes,
                max_files,
            },
            rate: AddressRate::per_minute(settings.per_minute_per_address),
            stall_timeout: settings.stall_timeout,
        })
    }

    /// Whether client `address` (its key) may start another upload now
    /// (`--uploads-per-minute-per-ip`).
    pub fn admit(&self, address: IpAddr) -> bool {
        self.rate.take(address).is_ok()
    }

    /// How long an upload's body may stop arriving before it is ended.
    pub fn stall_timeout(&self) -> Duration {
        self.stall_timeout
    }

    /// What the page is told (`/config.json`).
    pub fn rules(&self) -> &UploadRules {
        &self.rules
    }

    /// The store.
    pub fn store(&self) -> &UploadStore {
        &self.store
    }

    /// The stored files a message of `session` names, in order.
    pub fn resolve(
        &self,
        session: &shared::SessionId,
        files: &[FileRef],
    ) -> Result<Vec<Attachment>, FilesRefused> {
        if files.len() > self.rules.max_files as usize {
            return Err(FilesRefused {
                code: ErrorCode::TooManyFiles,
                message: format!(
                    "{} files; at most {} per message",
                    files.len(),
                    self.rules.max_files
                ),
            });
        }
        files
            .iter()
            .map(|f| {
                self.store
                    .get(session, &f.upload)
                    .ok_or_else(|| FilesRefused {
                        code: ErrorCode::UploadMissing,
                        message: format!(
                            "the relay does not have upload {} (\"{}\"); upload the file again",
                            f.upload,
                            store::safe_name(&f.name)
                        ),
                    })
            })
            .collect()
    }
}

/// Deletes expired uploads, and those of sessions gone for `retain_for`
/// (`connected` says which are here), every few seconds (a tenth of the
/// shorter of the two, between 1 s and 60 s) until aborted.
pub async fn sweep_periodically(
    uploads: &Uploads,
    connected: impl Fn(&str) -> bool,
    retain_for: Duration,
) {
    let period = (uploads.store().bounds().retention.min(retain_for) / 10)
        .clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let n = uploads.store().sweep(&connected, retain_for).await;
        if n > 0 {
            tracing::debug!("deleted {n} expired or abandoned upload(s)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_directory_inside_the_page_is_refused() {
        let page = std::env::temp_dir().join(format!("relay-page-{}", std::process::id()));
        std::fs::create_dir_all(&page).expect("page dir");
        assert!(is_inside(&page.join("uploads"), &page));
        assert!(is_inside(&page.join("a/../b"), &page));
        assert!(is_inside(&page, &page));
        assert!(!is_inside(&page.join("../elsewhere"), &page));
        let settings = Settings::for_tests(Some(page.join("up")));
        let refused = Uploads::start(&settings, Some(&page)).map(|_| ());
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("inside --static-dir")),
            "{refused:?}"
        );
        let _ = std::fs::remove_dir_all(page);
    }
}
