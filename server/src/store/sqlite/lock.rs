//! One relay per `--data-dir`.
//!
//! A second relay on the same directory would break exactly-once without
//! a word: at start it turns every message in flight into `interrupted`
//! (see [`super::load`]) while the first is still answering them, and both
//! would write the same rows. So the store holds an exclusive lock on a
//! file in the directory for as long as its writer runs, and a store that
//! cannot take it refuses to open. The lock is the kernel's (`flock`): it
//! goes with the process, so a relay killed with SIGKILL leaves none
//! behind.

use std::fs::{File, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::schema::OpenError;

/// The lock file inside `--data-dir`.
pub const FILE: &str = "relay.lock";

/// Takes the directory's lock (the directory must exist); held until the
/// returned file is dropped.
pub fn take(dir: &Path) -> Result<File, OpenError> {
    let dir_err = |source| OpenError::Dir {
        dir: dir.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join(FILE))
        .map_err(dir_err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::InUse {
            dir: dir.to_owned(),
        }),
        Err(TryLockError::Error(source)) => Err(dir_err(source)),
    }
}
