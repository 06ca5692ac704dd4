//! `cargo xtask <command>`: the project's build, run and test entry points.
//!
//! - `run [relay flags…]`: build the page and the relay (release), then serve
//!   the app at http://127.0.0.1:3000 (flags are passed to `relay`).
//! - `build`: build the release page into `dist/` and the relay binary.
//! - `test`: fmt check, clippy, every test (native, wasm in headless
//!   Chromium, end-to-end in a real browser, several relays sharing a real
//!   Redis behind nginx).
//! - `bench [--quick]`: run the relay benchmarks and write BENCHMARKS.md.
//! - `soak [--quick] [--rounds N] [--cluster]`: 1 000 clients × 100 messages
//!   with random disconnects and a flaky webhook; fails on any lost or
//!   doubled message. `--cluster`: against two relays sharing Redis behind
//!   nginx.
//! - `fuzz [target…] [--seconds N]`: run the cargo-fuzz targets in `fuzz/`
//!   (each for N seconds, default 600).
//! - `setup`: only install the tools (idempotent).
//! - `dist`: the static relay as a tarball (with a systemd unit) and an OCI
//!   image in `target/dist/`, each checked by running it (Linux, as root).
//!
//! Every command installs what it needs first; each install step skips
//! itself when the right version is already there. Plain Rust, so it works
//! on Windows too.

mod cmd;
mod dist;
mod stage;
mod tasks;
mod tools;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match command.as_str() {
        "run" => tasks::run(&rest),
        "build" => tasks::build().map(|_| ()),
        "test" => tasks::test(),
        "bench" => tasks::bench(&rest),
        "soak" => tasks::soak(&rest),
        "fuzz" => tasks::fuzz(&rest),
        "setup" => tools::Toolchain::ensure(tools::Needs::all()).map(|_| ()),
        "dist" => dist::dist(&rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <run [relay flags…] | build | test | bench [--quick] | soak [--quick] [--rounds N] [--cluster] | fuzz [target…] [--seconds N] | setup | dist>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
