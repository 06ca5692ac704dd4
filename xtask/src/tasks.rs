//! The commands themselves.

use std::path::PathBuf;

use crate::cmd::{self, Result};
use crate::tools::{Needs, Toolchain};

/// Builds the release page into `dist/` (trunk, wasm-opt -Oz), rewriting
/// only files that changed (see `stage.rs`: the relay embeds `dist/`).
pub fn build_page(tools: &Toolchain) -> Result<PathBuf> {
    let dist = crate::stage::build_page(tools)?;
    report_sizes(&dist);
    Ok(dist)
}

/// Builds the release page and the release relay.
pub fn build() -> Result<Toolchain> {
    let tools = Toolchain::ensure(Needs {
        web: true,
        browser: false,
        cluster: false,
    })?;
    build_page(&tools)?;
    // The page goes into the binary: `relay` alone is the app.
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "server",
        "--features",
        "embed-page",
    ]))?;
    Ok(tools)
}

/// Builds everything, then runs the relay with the page built in (extra
/// args go to `relay`).
pub fn run(relay_args: &[String]) -> Result<()> {
    // `cargo xtask run -- --flag` passes a literal `--` through; drop it.
    let relay_args = match relay_args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => relay_args,
    };
    build()?;
    let exe = cmd::root()
        .join("target")
        .join("release")
        .join(if cfg!(windows) { "relay.exe" } else { "relay" });
    let listen = relay_args
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| relay_args.get(i + 1).cloned())
        .or_else(|| std::env::var("RELAY_LISTEN").ok())
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    eprintln!("\n  Open http://{listen} in your browser (Ctrl-C stops the relay).\n");
    cmd::run(
        std::process::Command::new(exe)
            .current_dir(cmd::root())
            .args(relay_args),
    )
}

/// Every check and every test.
pub fn test() -> Result<()> {
    cmd::run(cmd::cargo().args(["fmt", "--all", "--", "--check"]))?;
    cmd::run(cmd::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    cmd::run(cmd::cargo().args(["test", "--workspace", "--no-fail-fast"]))?;

    let mut tools = Toolchain::ensure(Needs::all())?;
    // The embedding suites also run in Firefox and WebKitGTK.
    tools.ensure_engines()?;
    cmd::run(cmd::cargo().args([
        "clippy",
        "-p",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    let dist = build_page(&tools)?;
    // The static tarball and the OCI image, each run in an empty root.
    crate::dist::test(&dist)?;
    let chromedriver = tools.chromedriver.clone().unwrap_or_default();
    let chromium = tools.chromium.clone().unwrap_or_default();
    let axe = tools.axe.clone().unwrap_or_default();

    // Component tests: wasm-bindgen-test in headless Chromium.
    cmd::run(
        cmd::cargo()
            .args([
                "test",
                "-p",
                "frontend",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env("CHROMEDRIVER", &chromedriver)
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )?;

    // End to end: the real relay binary (with the page built in, as
    // `cargo xtask build` makes it), the built page, a real browser.
    cmd::run(cmd::cargo().args([
        "build",
        "-p",
        "server",
        "--bin",
        "relay",
        "--features",
        "embed-page",
    ]))?;
    let relay = cmd::root()
        .join("target")
        .join("debug")
        .join(if cfg!(windows) { "relay.exe" } else { "relay" });
    cmd::run(
        cmd::cargo()
            .args([
                "test",
                "-p",
                "e2e",
                "-p",
                "bench",
                // Every suite runs, so one failure does not hide another.
                "--no-fail-fast",
                "--",
                "--ignored",
                "--test-threads=1",
            ])
            .env("RELAY_BIN", relay)
            .env("DIST_DIR", dist)
            .env("CHROMEDRIVER", chromedriver)
            .env("CHROME_BIN", chromium)
            .env("AXE_JS", axe)
            .env("REDIS_SERVER", tools.redis.clone().unwrap_or_default())
            .env("NGINX_BIN", tools.nginx.clone().unwrap_or_default())
            .envs(tools.engine_env()),
    )
}

/// Builds the release relay and the benchmark runner, runs it, and writes
/// `BENCHMARKS.md` (`--quick`: a shorter run, under a minute).
pub fn bench(args: &[String]) -> Result<()> {
    let soak = args.first().is_some_and(|a| a == "soak");
    // The page sections need the built page and a browser (not the soak).
    let page_env = if soak {
        // `soak --cluster`: two relays sharing Redis behind nginx.
        if args.iter().any(|a| a == "--cluster") {
            let tools = Toolchain::ensure(Needs {
                web: false,
                browser: false,
                cluster: true,
            })?;
            vec![
                (
                    "REDIS_SERVER",
                    tools.redis.clone().unwrap_or_default().into_os_string(),
                ),
                (
                    "NGINX_BIN",
                    tools.nginx.clone().unwrap_or_default().into_os_string(),
                ),
            ]
        } else {
            Vec::new()
        }
    } else {
        let tools = Toolchain::ensure(Needs::all())?;
        let dist = build_page(&tools)?;
        vec![
            ("DIST_DIR", dist.into_os_string()),
            // The relay below is built with the page inside.
            ("RELAY_PAGE_EMBEDDED", "1".into()),
            (
                "CHROMEDRIVER",
                tools
                    .chromedriver
                    .clone()
                    .unwrap_or_default()
                    .into_os_string(),
            ),
            (
                "CHROME_BIN",
                tools.chromium.clone().unwrap_or_default().into_os_string(),
            ),
        ]
    };
    let mut build = cmd::cargo();
    build.args(["build", "--release", "-p", "server", "-p", "bench"]);
    if !soak {
        // The page sections measure the page as the binary serves it.
        build.args(["--features", "server/embed-page"]);
    }
    cmd::run(&mut build)?;
    let release = cmd::root().join("target").join("release");
    let exe = |name: &str| {
        release.join(if cfg!(windows) {
            format!("{name}.exe")
        } else {
            name.to_owned()
        })
    };
    // `bench soak …` or `bench report …` (the default).
    let mut command = std::process::Command::new(exe("bench"));
    command
        .current_dir(cmd::root())
        .arg("--relay")
        .arg(exe("relay"))
        .arg("--out")
        .arg(cmd::root().join("BENCHMARKS.md"));
    if !soak {
        command.arg("report");
    }
    cmd::run(
        command
            .args(args)
            .env("RELAY_BIN", exe("relay"))
            .envs(page_env),
    )
}

/// The long soak (`--quick`: 100 clients × 20 messages; `--cluster`: two
/// relays sharing Redis behind nginx).
pub fn soak(args: &[String]) -> Result<()> {
    let mut args = args.to_vec();
    args.insert(0, "soak".into());
    bench(&args)
}

/// The fuzz targets in `fuzz/`.
const FUZZ_TARGETS: [&str; 4] = ["client_frame", "server_frame", "n8n_answer", "n8n_stream"];

/// Fuzzes every target (or the ones named) for `--seconds` each (default
/// 600). New inputs go to `target/fuzz-corpus/<target>`; the committed seeds
/// in `fuzz/corpus/<target>` are read, never written. A crash stops the run
/// with libFuzzer's report and leaves the input in `fuzz/artifacts/`.
pub fn fuzz(args: &[String]) -> Result<()> {
    let mut seconds = "600".to_owned();
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args.next().cloned().ok_or("--seconds needs a number")?;
            }
            "--" => {}
            t if FUZZ_TARGETS.contains(&t) => targets.push(t),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?} (targets: {})",
                    FUZZ_TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = FUZZ_TARGETS.to_vec();
    }
    crate::tools::ensure_cargo_fuzz()?;
    let fuzz_dir = cmd::root().join("fuzz");
    for target in targets {
        let work = cmd::root().join("target").join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&work)
            .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        let mut command = cmd::cargo();
        command
            .current_dir(&fuzz_dir)
            .args(["fuzz", "run", "-O", target])
            .arg(&work)
            .arg(fuzz_dir.join("corpus").join(target))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-max_len=65536",
            ])
            // libFuzzer needs `-Z` sanitizer flags; this enables them on the
            // stable toolchain the project builds with.
            .env("RUSTC_BOOTSTRAP", "1");
        cmd::run(&mut command)?;
    }
    Ok(())
}

fn report_sizes(dist: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dist) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if matches!(ext, "wasm" | "js") {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            eprintln!(
                "  dist/{}: {size} bytes",
                entry.file_name().to_string_lossy()
            );
        }
    }
}
