//! Idempotent installs of everything the build and the tests need.
//!
//! Only package registries are assumed reachable (crates.io, npm, Debian),
//! so nothing here lets a tool download its own binaries:
//! - the `wasm32-unknown-unknown` target (rustup);
//! - `trunk` 0.22.1 (`cargo install`; needs `--ignore-rust-version`);
//! - `wasm-bindgen-cli` at exactly the lockfile's `wasm-bindgen` version;
//! - `wasm-opt` from the npm package `binaryen@132` (Debian's binaryen 108
//!   silently produces a broken bundle), in a tools directory of our own;
//! - Chromium and ChromeDriver from Debian (browser tests, Linux only);
//! - `axe-core` from npm, injected into the page by the accessibility tests;
//! - for the embedding suites in other engines: Firefox ESR (`firefox-esr`,
//!   Debian) with `geckodriver` (crates.io, `cargo install --locked`), and
//!   WebKitGTK's `WebKitWebDriver` and MiniBrowser (`webkit2gtk-driver`,
//!   Debian) under `xvfb-run` (`xvfb`, Debian).
//!
//! Each step checks the installed version first and does nothing when it is
//! right.

use std::path::{Path, PathBuf};

use crate::cmd::{self, Result};

/// The trunk release the project is built with.
pub const TRUNK_VERSION: &str = "0.22.1";
/// The binaryen release (npm package `binaryen`) trunk's wasm-opt comes from.
pub const BINARYEN_VERSION: &str = "132.0.0";
/// The geckodriver release (crates.io) that drives Firefox ESR.
pub const GECKODRIVER_VERSION: &str = "0.36.0";
/// The axe-core release the accessibility checks run.
pub const AXE_VERSION: &str = "4.14.1";

/// What a command needs.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// trunk, wasm-bindgen, wasm-opt and the wasm target.
    pub web: bool,
    /// Chromium and ChromeDriver.
    pub browser: bool,
    /// redis-server and nginx (several relays behind a load balancer).
    pub cluster: bool,
}

impl Needs {
    /// Everything.
    pub fn all() -> Self {
        Needs {
            web: true,
            browser: true,
            cluster: true,
        }
    }
}

/// Where the tools are, once ensured.
#[derive(Debug, Clone, Default)]
pub struct Toolchain {
    /// Directories to put first on `PATH` (wasm-opt's).
    pub path_prefix: Vec<PathBuf>,
    /// Chromium's binary.
    pub chromium: Option<PathBuf>,
    /// ChromeDriver's binary.
    pub chromedriver: Option<PathBuf>,
    /// `axe.min.js` (accessibility checks in the browser tests).
    pub axe: Option<PathBuf>,
    /// `redis-server`.
    pub redis: Option<PathBuf>,
    /// `nginx`.
    pub nginx: Option<PathBuf>,
    /// Firefox ESR and geckodriver.
    pub firefox: Option<(PathBuf, PathBuf)>,
    /// WebKitGTK: `WebKitWebDriver`, MiniBrowser and `xvfb-run`.
    pub webkit: Option<(PathBuf, PathBuf, PathBuf)>,
}

impl Toolchain {
    /// Installs what `needs` asks for, skipping what is already right.
    pub fn ensure(needs: Needs) -> Result<Toolchain> {
        let mut tools = Toolchain::default();
        if needs.web {
            ensure_wasm_target()?;
            ensure_trunk()?;
            ensure_wasm_bindgen()?;
            tools.path_prefix.push(ensure_wasm_opt()?);
        }
        if needs.browser {
            let (chromium, driver) = ensure_browser()?;
            tools.chromium = Some(chromium);
            tools.chromedriver = Some(driver);
            tools.axe = Some(ensure_axe()?);
        }
        if needs.cluster {
            let (redis, nginx) = ensure_cluster_servers()?;
            tools.redis = Some(redis);
            tools.nginx = Some(nginx);
        }
        Ok(tools)
    }

    /// Installs Firefox ESR with geckodriver and WebKitGTK's driver (the
    /// embedding suites in other engines), skipping what is there.
    pub fn ensure_engines(&mut self) -> Result<()> {
        self.firefox = Some(ensure_firefox()?);
        self.webkit = Some(ensure_webkit()?);
        Ok(())
    }

    /// The variables the e2e suites read for the other engines (empty
    /// values: not installed; those suites then skip, saying so).
    pub fn engine_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        let os = |p: &PathBuf| p.clone().into_os_string();
        let (firefox, gecko) = self
            .firefox
            .as_ref()
            .map(|(f, g)| (os(f), os(g)))
            .unwrap_or_default();
        let (driver, browser, xvfb) = self
            .webkit
            .as_ref()
            .map(|(d, b, x)| (os(d), os(b), os(x)))
            .unwrap_or_default();
        vec![
            ("FIREFOX_BIN", firefox),
            ("GECKODRIVER", gecko),
            ("WEBKIT_DRIVER", driver),
            ("WEBKIT_BROWSER", browser),
            ("XVFB_RUN", xvfb),
        ]
    }

    /// `PATH` with the tool directories first.
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut dirs = self.path_prefix.clone();
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(dirs).unwrap_or_default()
    }
}

fn ensure_wasm_target() -> Result<()> {
    let installed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    cmd::run(cmd::program("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn ensure_trunk() -> Result<()> {
    if cmd::version_of("trunk").is_some_and(|v| v == format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    eprintln!("installing trunk {TRUNK_VERSION} (takes several minutes, once)");
    cmd::run(
        cmd::cargo()
            .args([
                "install",
                "trunk",
                "--version",
                TRUNK_VERSION,
                "--locked",
                "--ignore-rust-version",
            ])
            // Faster to build, the same tool.
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    )
}

/// The cargo-fuzz version `cargo xtask fuzz` installs.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Installs cargo-fuzz unless this version is already there.
pub fn ensure_cargo_fuzz() -> Result<()> {
    let have = cmd::cargo()
        .args(["fuzz", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if have.is_some_and(|v| v == format!("cargo-fuzz {CARGO_FUZZ_VERSION}")) {
        return Ok(());
    }
    eprintln!("installing cargo-fuzz {CARGO_FUZZ_VERSION} (takes a few minutes, once)");
    cmd::run(cmd::cargo().args([
        "install",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
        "--locked",
    ]))
}

/// The `wasm-bindgen` version in Cargo.lock; the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(cmd::root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_owned());
            }
        }
    }
    Err("no wasm-bindgen in Cargo.lock".into())
}

fn ensure_wasm_bindgen() -> Result<()> {
    let version = locked_wasm_bindgen_version()?;
    if cmd::version_of("wasm-bindgen").is_some_and(|v| v == format!("wasm-bindgen {version}")) {
        return Ok(());
    }
    eprintln!("installing wasm-bindgen-cli {version} (takes a few minutes, once)");
    // No --locked: its lockfile pins a webpki-roots version the registry lacks.
    cmd::run(cmd::cargo().args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &format!("={version}"),
    ]))
}

/// Our own tools directory: `$XTASK_TOOLS_DIR`, else a per-user cache dir.
fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XTASK_TOOLS_DIR") {
        return dir.into();
    }
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
    };
    base.unwrap_or_else(|| cmd::root().join("target"))
        .join("n8n-chat-relay-tools")
}

/// `npm install <package>` into a directory of its own (created if needed).
fn npm_install(dir: &Path, package: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    cmd::run(cmd::program("npm").args([
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        &dir.to_string_lossy(),
        package,
    ]))
}

fn ensure_wasm_opt() -> Result<PathBuf> {
    let dir = tools_dir().join(format!("binaryen-{BINARYEN_VERSION}"));
    let bin = dir.join("node_modules").join(".bin");
    let exe = bin.join(if cfg!(windows) {
        "wasm-opt.cmd"
    } else {
        "wasm-opt"
    });
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    if cmd::version_of(&exe).is_some_and(|v| v.contains(&format!("version {major}"))) {
        return Ok(bin);
    }
    npm_install(&dir, &format!("binaryen@{BINARYEN_VERSION}"))?;
    match cmd::version_of(&exe) {
        Some(v) if v.contains(&format!("version {major}")) => Ok(bin),
        other => Err(format!(
            "wasm-opt from npm binaryen@{BINARYEN_VERSION} does not run: {other:?}"
        )),
    }
}

fn ensure_axe() -> Result<PathBuf> {
    let dir = tools_dir().join(format!("axe-core-{AXE_VERSION}"));
    let package = dir.join("node_modules").join("axe-core");
    let script = package.join("axe.min.js");
    let installed = std::fs::read_to_string(package.join("package.json"))
        .ok()
        .is_some_and(|p| p.contains(&format!("\"version\": \"{AXE_VERSION}\"")));
    if installed && script.is_file() {
        return Ok(script);
    }
    npm_install(&dir, &format!("axe-core@{AXE_VERSION}"))?;
    if script.is_file() {
        Ok(script)
    } else {
        Err(format!(
            "npm axe-core@{AXE_VERSION} has no {}",
            script.display()
        ))
    }
}

fn find_first(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(p.into());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// A pair of programs from Debian, each found by its env var or at one of
/// its usual paths; installed with apt-get (Linux) when either is missing.
struct DebianPair {
    /// For messages, e.g. "browser tests".
    purpose: &'static str,
    /// Env var and usual paths of each program.
    programs: [(&'static str, &'static [&'static str]); 2],
    /// The Debian packages that provide them.
    packages: &'static [&'static str],
}

impl DebianPair {
    fn find(&self) -> Option<(PathBuf, PathBuf)> {
        let [(env_a, paths_a), (env_b, paths_b)] = self.programs;
        Some((find_first(env_a, paths_a)?, find_first(env_b, paths_b)?))
    }

    fn ensure(&self) -> Result<(PathBuf, PathBuf)> {
        if let Some(found) = self.find() {
            return Ok(found);
        }
        let [(env_a, _), (env_b, _)] = self.programs;
        if !cfg!(target_os = "linux") {
            return Err(format!(
                "{} need {}: install them and set {env_a} and {env_b}",
                self.purpose,
                self.packages.join(" and ")
            ));
        }
        eprintln!(
            "installing {} from Debian (for the {})",
            self.packages.join(" and "),
            self.purpose
        );
        apt_install(self.packages)?;
        self.find().ok_or_else(|| {
            format!(
                "{} still missing after apt-get install",
                self.packages.join("/")
            )
        })
    }
}

fn ensure_browser() -> Result<(PathBuf, PathBuf)> {
    DebianPair {
        purpose: "browser tests",
        programs: [
            (
                "CHROME_BIN",
                &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
            ),
            ("CHROMEDRIVER", &["/usr/bin/chromedriver"]),
        ],
        packages: &["chromium", "chromium-driver"],
    }
    .ensure()
}

fn ensure_firefox() -> Result<(PathBuf, PathBuf)> {
    let firefox = match find_first("FIREFOX_BIN", &["/usr/bin/firefox-esr", "/usr/bin/firefox"]) {
        Some(found) => found,
        None => {
            if !cfg!(target_os = "linux") {
                return Err(
                    "the Firefox suites need Firefox: install it and set FIREFOX_BIN".into(),
                );
            }
            eprintln!("installing firefox-esr from Debian (for the Firefox suites)");
            apt_install(&["firefox-esr"])?;
            find_first("FIREFOX_BIN", &["/usr/bin/firefox-esr"])
                .ok_or("firefox-esr still missing after apt-get install")?
        }
    };
    let wanted = format!("geckodriver {GECKODRIVER_VERSION}");
    let gecko = std::env::var_os("GECKODRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| cargo_bin("geckodriver"));
    if !cmd::version_of(&gecko).is_some_and(|v| v.starts_with(&wanted)) {
        eprintln!("installing geckodriver {GECKODRIVER_VERSION} (takes a few minutes, once)");
        cmd::run(cmd::cargo().args([
            "install",
            "geckodriver",
            "--version",
            GECKODRIVER_VERSION,
            "--locked",
        ]))?;
    }
    Ok((firefox, gecko))
}

/// Where `cargo install` puts `name`.
fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

/// WebKitGTK's driver and MiniBrowser (`webkit2gtk-driver` brings both),
/// and `xvfb-run`: WebKitGTK has no headless mode.
fn ensure_webkit() -> Result<(PathBuf, PathBuf, PathBuf)> {
    const BROWSERS: &[&str] = &[
        "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
        "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
        "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
        "/usr/lib/x86_64-linux-gnu/webkitgtk-6.0/MiniBrowser",
    ];
    let find = || {
        Some((
            find_first("WEBKIT_DRIVER", &["/usr/bin/WebKitWebDriver"])?,
            find_first("WEBKIT_BROWSER", BROWSERS)?,
            find_first("XVFB_RUN", &["/usr/bin/xvfb-run"])?,
        ))
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    if !cfg!(target_os = "linux") {
        return Err(
            "the WebKit suites need WebKitGTK: set WEBKIT_DRIVER, WEBKIT_BROWSER and XVFB_RUN"
                .into(),
        );
    }
    eprintln!("installing webkit2gtk-driver and xvfb from Debian (for the WebKit suites)");
    apt_install(&["webkit2gtk-driver", "xvfb", "xauth"])?;
    find().ok_or_else(|| {
        "WebKitWebDriver, MiniBrowser or xvfb-run still missing after apt-get install".into()
    })
}

/// Services are not started: the tests start their own on free ports.
fn ensure_cluster_servers() -> Result<(PathBuf, PathBuf)> {
    DebianPair {
        purpose: "cluster tests",
        programs: [
            ("REDIS_SERVER", &["/usr/bin/redis-server"]),
            ("NGINX_BIN", &["/usr/sbin/nginx", "/usr/bin/nginx"]),
        ],
        packages: &["redis-server", "nginx-light"],
    }
    .ensure()
}

/// `apt-get install` (with sudo when not root). Debian's packages may try to
/// start their services; in containers without an init system they do not,
/// and the tests start their own instances on free ports anyway.
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut c = cmd::program(if sudo { "sudo" } else { "apt-get" });
        if sudo {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    cmd::run(&mut apt(&["update", "-q"]))?;
    let mut install = vec!["install", "-y", "-q"];
    install.extend_from_slice(packages);
    cmd::run(&mut apt(&install))
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
