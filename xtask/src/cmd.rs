//! Running commands: echo them, fail with a readable error.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Errors are plain text: the xtask prints them and exits non-zero.
pub type Result<T> = std::result::Result<T, String>;

/// The workspace root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `cargo` as invoked by the user (respects `$CARGO`).
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

/// A program, run from the workspace root. On Windows, npm is `npm.cmd`.
pub fn program(name: &str) -> Command {
    let name = if cfg!(windows) && name == "npm" {
        "npm.cmd"
    } else {
        name
    };
    let mut c = Command::new(name);
    c.current_dir(root());
    c
}

/// Runs `command`, printing it first; fails unless it exits 0.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

/// The first line of `program --version`, if it runs.
pub fn version_of(program: impl AsRef<OsStr>) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(|l| l.trim().to_owned())
}

fn describe(command: &Command) -> String {
    let mut s = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}
