//! Where sessions are kept: in memory, in a SQLite file, or in Redis.

use std::path::{Path, PathBuf};

/// The data directory when neither `--data-dir` nor `--store` is given.
pub const DEFAULT_DATA_DIR: &str = "./relay-data";

/// Which store keeps sessions (`--redis-url` selects Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// This relay's memory: a restart forgets every session.
    Memory,
    /// A SQLite file in `--data-dir`: sessions survive a restart.
    Sqlite,
}

/// Where sessions are kept.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Storage")]
pub struct StoreFlags {
    /// Where sessions are kept: sqlite (the default) or memory.
    ///
    /// sqlite: a file in --data-dir, so a restart (even a crash) keeps which
    /// messages ran and their answers. memory: a restart forgets them (a
    /// page's resend then runs again). Without this flag and --data-dir the
    /// relay uses sqlite in ./relay-data, or memory with a warning when that
    /// directory cannot be written. --redis-url selects Redis instead.
    #[arg(long, env = "RELAY_STORE", value_enum)]
    pub store: Option<StoreKind>,

    /// Directory of the sqlite store (default ./relay-data, created 0700).
    ///
    /// Given explicitly (or with --store sqlite), a directory that cannot be
    /// used stops the relay with an error instead of falling back to memory.
    #[arg(long, env = "RELAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Wait for the disk at every commit of the sqlite store.
    ///
    /// SQLite's synchronous=FULL. Without it (NORMAL, with WAL) a killed
    /// relay loses nothing, but a power loss of the machine may lose the last
    /// commits.
    #[arg(long, env = "RELAY_SQLITE_FULL_SYNC")]
    pub sqlite_full_sync: bool,

    /// Run a message again if its relay died while answering it.
    ///
    /// Whether n8n ran such a message cannot be known. By default a resend
    /// gets the `interrupted` error and only the user's Retry runs it; with
    /// this flag a resend runs it again (as a crashed relay's messages were
    /// taken over by another relay before; n8n may then run it twice).
    #[arg(long, env = "RELAY_RERUN_INTERRUPTED")]
    pub rerun_interrupted: bool,
}

/// The store the relay opens, once the flags are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// In memory.
    Memory,
    /// SQLite in this directory.
    Sqlite(PathBuf),
}

impl StoreFlags {
    /// The store these flags ask for: memory unless `--store sqlite` or
    /// `--data-dir` is given. The binary first calls
    /// [`StoreFlags::choose_default`], which makes sqlite the default;
    /// tests built on `Config::defaults()` stay in memory unless they ask.
    pub fn chosen(&self) -> Chosen {
        match (self.store, &self.data_dir) {
            (Some(StoreKind::Memory), _) => Chosen::Memory,
            (Some(StoreKind::Sqlite), dir) | (None, dir @ Some(_)) => Chosen::Sqlite(
                dir.clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            ),
            (None, None) => Chosen::Memory,
        }
    }

    /// With neither `--store` nor `--data-dir`: sqlite in
    /// [`DEFAULT_DATA_DIR`] if that directory can be created and written,
    /// else memory — returning the warning to log. (An explicit choice is
    /// left alone: it fails loudly at start instead.)
    pub fn choose_default(&mut self, redis: bool) -> Option<String> {
        if redis || self.store.is_some() || self.data_dir.is_some() {
            return None;
        }
        let dir = Path::new(DEFAULT_DATA_DIR);
        match writable(dir) {
            Ok(()) => {
                self.store = Some(StoreKind::Sqlite);
                None
            }
            Err(e) => {
                self.store = Some(StoreKind::Memory);
                Some(format!(
                    "{DEFAULT_DATA_DIR} cannot be used ({e}): sessions are kept in memory \
                     only, and a restart forgets them; set --data-dir to a writable directory \
                     (or --store memory to silence this)"
                ))
            }
        }
    }
}

/// Creates `dir` (0700) if needed and checks a file can be made in it.
fn writable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    tempfile::tempfile_in(dir).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn explicit_choices_win_and_the_library_default_is_memory() {
        let c = |args: &[&str]| {
            let mut all = vec!["relay"];
            all.extend_from_slice(args);
            Config::from_args_without_env(all).store.chosen()
        };
        assert_eq!(c(&[]), Chosen::Memory);
        assert_eq!(
            c(&["--store", "sqlite"]),
            Chosen::Sqlite(DEFAULT_DATA_DIR.into())
        );
        assert_eq!(c(&["--data-dir", "/x"]), Chosen::Sqlite("/x".into()));
        assert_eq!(
            c(&["--store", "memory", "--data-dir", "/x"]),
            Chosen::Memory
        );
    }

    #[test]
    fn the_binary_default_falls_back_to_memory_only_when_nothing_was_asked() {
        let mut flags = Config::defaults().store;
        flags.data_dir = Some("/x".into());
        assert_eq!(flags.choose_default(false), None, "explicit: untouched");
        assert_eq!(flags.store, None);
        let mut flags = Config::defaults().store;
        assert_eq!(flags.choose_default(true), None, "redis: untouched");
        assert_eq!(flags.chosen(), Chosen::Memory);
    }
}
