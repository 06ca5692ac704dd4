//! `cargo xtask dist`: the relay for machines without a Rust toolchain.
//!
//! Makes, in `target/dist/`:
//! - `relay-<version>-x86_64-unknown-linux-musl.tar.gz`: the static relay
//!   (musl, the page built in), README, LICENSE, `relay.service` (systemd,
//!   hardened) and `relay.env.example`;
//! - `relay-<version>-oci.tar`: an OCI image `FROM scratch` holding only
//!   that binary, CA certificates, a non-root user and an empty `/tmp`,
//!   built with podman from files made here (no base image is pulled).
//!
//! Both are checked before they are kept: the binary runs from the
//! unpacked tarball in an otherwise empty root, and the image's root
//! filesystem, unpacked from the archive, serves the page and `/healthz`
//! through its own entrypoint (chroot, as root) — containers cannot run on
//! the CI machines, chroot can. `cargo xtask test` runs the same checks on a
//! quicker build (the `dist-test` profile) into `target/dist-check/`.
//!
//! Linux only (musl, podman, chroot); installs musl-tools, podman and
//! ca-certificates from Debian when missing.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cmd::{self, Result};
use crate::tools::{Needs, Toolchain};

/// The static target the relay is shipped for.
pub const MUSL: &str = "x86_64-unknown-linux-musl";
/// The image's user (no name service in the image; the number is what
/// counts, and it owns nothing but what it is given).
const IMAGE_UID: u32 = 65532;
/// The image's name in podman's store.
const IMAGE_NAME: &str = "localhost/n8n-chat-relay";
/// How long the relay may take to answer its first request in a check.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// `cargo xtask dist`: the release tarball and image, checked.
pub fn dist(args: &[String]) -> Result<()> {
    if let Some(arg) = args.iter().find(|a| *a != "--") {
        return Err(format!("dist takes no arguments (got {arg:?})"));
    }
    let tools = Toolchain::ensure(Needs {
        web: true,
        browser: false,
        cluster: false,
    })?;
    let page = crate::tasks::build_page(&tools)?;
    let out = cmd::root().join("target").join("dist");
    let made = make_and_check("release", &page, &out)?;
    eprintln!("\n  {}", made.tarball.display());
    eprintln!("  {}", made.image.display());
    eprintln!(
        "  (load the image with `podman load -i` or `docker load -i`: {IMAGE_NAME}:{})\n",
        made.version
    );
    Ok(())
}

/// The check in `cargo xtask test`: the same tarball and image from a
/// quicker build (`dist-test` profile), into `target/dist-check/`.
pub fn test(page: &Path) -> Result<()> {
    let started = Instant::now();
    // Not `target/dist-test`: that is cargo's own directory for the profile.
    let out = cmd::root().join("target").join("dist-check");
    make_and_check("dist-test", page, &out)?;
    eprintln!(
        "  distribution checked in {:.0?} (tarball and image)",
        started.elapsed()
    );
    Ok(())
}

/// What `make_and_check` leaves in its output directory.
#[derive(Debug)]
struct Made {
    version: String,
    tarball: PathBuf,
    image: PathBuf,
}

fn make_and_check(profile: &str, page: &Path, out: &Path) -> Result<Made> {
    if !cfg!(target_os = "linux") {
        return Err("the distribution is built on Linux only (musl, podman, chroot)".into());
    }
    ensure_musl()?;
    let binary = build_static(profile, page)?;
    check_static(&binary)?;
    let version = version_of_relay(&binary)?;
    recreate_dir(out)?;
    let tarball = make_tarball(&binary, &version, out)?;
    check_tarball(&tarball, &version, out)?;
    verify_unit(out)?;
    ensure_apt_program("podman", "podman")?;
    let image = make_image(&binary, &version, out)?;
    check_image(&image, out)?;
    Ok(Made {
        version,
        tarball,
        image,
    })
}

/// The musl target and a C compiler for it (`ring` has C and assembly).
fn ensure_musl() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == MUSL)
        })
        .unwrap_or(false);
    if !installed {
        cmd::run(cmd::program("rustup").args(["target", "add", MUSL]))?;
    }
    ensure_apt_program("musl-gcc", "musl-tools")
}

/// Installs Debian's `package` unless `program` runs.
fn ensure_apt_program(program: &str, package: &str) -> Result<()> {
    if cmd::version_of(program).is_some() {
        return Ok(());
    }
    eprintln!("installing {package} from Debian (for the distribution)");
    crate::tools::apt_install(&[package])?;
    cmd::version_of(program)
        .map(|_| ())
        .ok_or_else(|| format!("{program} still missing after installing {package}"))
}

/// Builds the relay for musl with the page built in; returns the binary.
fn build_static(profile: &str, page: &Path) -> Result<PathBuf> {
    if !page.join("index.html").is_file() {
        return Err(format!("no page at {}", page.display()));
    }
    cmd::run(
        cmd::cargo()
            .args(["build", "--profile", profile, "--target", MUSL])
            .args(["-p", "server", "--bin", "relay", "--features", "embed-page"])
            // cc picks musl-gcc for this target by itself; say so anyway,
            // so a cross compiler elsewhere on PATH is not taken instead.
            .env("CC_x86_64_unknown_linux_musl", "musl-gcc"),
    )?;
    // Cargo names the directory of the `dev` profile `debug`; the others
    // by their name.
    Ok(cmd::root()
        .join("target")
        .join(MUSL)
        .join(profile)
        .join("relay"))
}

/// `ldd` must not find a loader or a library: the binary runs anywhere.
fn check_static(binary: &Path) -> Result<()> {
    let Ok(output) = Command::new("ldd").arg(binary).output() else {
        eprintln!("  no ldd here: the static check relies on the empty-root run");
        return Ok(());
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        eprintln!("  ldd {}: {}", binary.display(), text.trim());
        Ok(())
    } else {
        Err(format!(
            "{} is not static; ldd says:\n{text}",
            binary.display()
        ))
    }
}

/// `relay --version` is `relay <version>`.
fn version_of_relay(binary: &Path) -> Result<String> {
    let line =
        cmd::version_of(binary).ok_or_else(|| format!("{} does not run", binary.display()))?;
    line.strip_prefix("relay ")
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected `relay --version`: {line:?}"))
}

fn recreate_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

/// Modes are set explicitly, so the archives do not depend on the umask.
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", path.display()))
}

/// The files in the tarball's top directory, besides the binary.
const TARBALL_DOCS: [(&str, &str); 4] = [
    ("README.md", "README.md"),
    ("LICENSE", "LICENSE"),
    ("deploy/relay.service", "relay.service"),
    ("deploy/relay.env.example", "relay.env.example"),
];

/// The tarball's name without `.tar.gz`, also its top directory.
fn tarball_stem(version: &str) -> String {
    format!("relay-{version}-{MUSL}")
}

/// Tar options that make the archive the same for the same inputs: sorted,
/// owned by root, one fixed time (`SOURCE_DATE_EPOCH`, else 2000-01-01).
fn reproducible_tar() -> Command {
    let epoch = std::env::var("SOURCE_DATE_EPOCH").unwrap_or_else(|_| "946684800".into());
    let mut tar = cmd::program("tar");
    tar.args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .arg(format!("--mtime=@{epoch}"));
    tar
}

fn make_tarball(binary: &Path, version: &str, out: &Path) -> Result<PathBuf> {
    let stem = tarball_stem(version);
    let top = out.join(&stem);
    std::fs::create_dir_all(&top).map_err(|e| format!("cannot create {}: {e}", top.display()))?;
    copy(binary, &top.join("relay"))?;
    set_mode(&top.join("relay"), 0o755)?;
    for (from, to) in TARBALL_DOCS {
        copy(&cmd::root().join(from), &top.join(to))?;
        set_mode(&top.join(to), 0o644)?;
    }
    let tarball = out.join(format!("{stem}.tar.gz"));
    cmd::run(
        reproducible_tar()
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(out)
            .arg(&stem),
    )?;
    std::fs::remove_dir_all(&top).map_err(|e| format!("cannot remove {}: {e}", top.display()))?;
    Ok(tarball)
}

/// Unpacks the tarball, checks its contents, then runs the binary from it
/// in an empty root: no loader, no libraries, no `/etc`, no `/tmp`.
fn check_tarball(tarball: &Path, version: &str, out: &Path) -> Result<()> {
    let unpacked = out.join("check-tarball");
    recreate_dir(&unpacked)?;
    cmd::run(
        cmd::program("tar")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(&unpacked),
    )?;
    let top = unpacked.join(tarball_stem(version));
    let mut found: Vec<String> = std::fs::read_dir(&top)
        .map_err(|e| format!("the tarball has no {}: {e}", top.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = TARBALL_DOCS.iter().map(|(_, to)| to.to_string()).collect();
    expected.push("relay".into());
    expected.sort();
    if found != expected {
        return Err(format!(
            "the tarball holds {found:?}, expected {expected:?}"
        ));
    }
    let root = unpacked.join("empty-root");
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    copy(&top.join("relay"), &root.join("relay"))?;
    set_mode(&root.join("relay"), 0o755)?;
    // nobody:nogroup, as systemd's DynamicUser would be: no root needed.
    serve_and_probe(&root, &["/relay".into()], &[], "65534:65534")?;
    eprintln!("  tarball: the relay from it serves / and /healthz in an empty root");
    std::fs::remove_dir_all(&unpacked)
        .map_err(|e| format!("cannot remove {}: {e}", unpacked.display()))
}

/// `systemd-analyze verify` on the unit (with `ExecStart` pointed at the
/// built binary, which verify wants to exist), where systemd is installed.
fn verify_unit(out: &Path) -> Result<()> {
    if cmd::version_of("systemd-analyze").is_none() {
        eprintln!("  no systemd-analyze here: relay.service not verified (systemd is not installed for this)");
        return Ok(());
    }
    let unit = std::fs::read_to_string(cmd::root().join("deploy").join("relay.service"))
        .map_err(|e| format!("cannot read deploy/relay.service: {e}"))?;
    let dir = out.join("check-unit");
    recreate_dir(&dir)?;
    // Any program that exists will do for verify; the unit is about the rest.
    let unit = unit.replace("/usr/local/bin/relay", "/bin/true");
    let path = dir.join("relay.service");
    write(&path, &unit)?;
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .map_err(|e| format!("cannot run systemd-analyze: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Without a running systemd (containers, CI) verify also reports that it
    // cannot reach the manager; only lines about our unit count.
    let complaints: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("relay.service"))
        .collect();
    std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    if complaints.is_empty() {
        eprintln!("  systemd-analyze verify relay.service: no complaints");
        Ok(())
    } else {
        Err(format!(
            "systemd-analyze verify relay.service:\n{}",
            complaints.join("\n")
        ))
    }
}

/// The image's root filesystem, made here: nothing from any other image.
fn make_image(binary: &Path, version: &str, out: &Path) -> Result<PathBuf> {
    let context = out.join("image-context");
    recreate_dir(&context)?;
    let rootfs = context.join("rootfs");
    for dir in ["etc/ssl/certs", "tmp"] {
        std::fs::create_dir_all(rootfs.join(dir))
            .map_err(|e| format!("cannot create {dir}: {e}"))?;
    }
    copy(binary, &rootfs.join("relay"))?;
    set_mode(&rootfs.join("relay"), 0o755)?;
    // Uploads (when on) wait in the temp dir: writable by the user, sticky.
    set_mode(&rootfs.join("tmp"), 0o1777)?;
    // The relay trusts the webpki roots built into it; the bundle is there
    // for anything that reads the system's (SSL_CERT_FILE and the like).
    let certs = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !certs.is_file() {
        crate::tools::apt_install(&["ca-certificates"])?;
    }
    copy(certs, &rootfs.join("etc/ssl/certs/ca-certificates.crt"))?;
    write(
        &rootfs.join("etc/passwd"),
        &format!("root:x:0:0:root:/:/sbin/nologin\nrelay:x:{IMAGE_UID}:{IMAGE_UID}:n8n chat relay:/tmp:/sbin/nologin\n"),
    )?;
    write(
        &rootfs.join("etc/group"),
        &format!("root:x:0:\nrelay:x:{IMAGE_UID}:\n"),
    )?;
    for file in [
        "etc/passwd",
        "etc/group",
        "etc/ssl/certs/ca-certificates.crt",
    ] {
        set_mode(&rootfs.join(file), 0o644)?;
    }
    write(
        &context.join("Containerfile"),
        &format!(
            "\
FROM scratch
COPY rootfs/ /
USER {IMAGE_UID}:{IMAGE_UID}
# In a container the relay listens on every address; the port is published.
ENV RELAY_LISTEN=0.0.0.0:3000
EXPOSE 3000
LABEL org.opencontainers.image.title=\"n8n chat relay\" \\
      org.opencontainers.image.version=\"{version}\" \\
      org.opencontainers.image.licenses=\"MIT\"
ENTRYPOINT [\"/relay\"]
"
        ),
    )?;
    let tag = format!("{IMAGE_NAME}:{version}");
    let epoch = std::env::var("SOURCE_DATE_EPOCH").unwrap_or_else(|_| "946684800".into());
    cmd::run(
        cmd::program("podman")
            .args(["build", "--format", "oci", "--pull=never", "--timestamp"])
            .arg(&epoch)
            .arg("-t")
            .arg(&tag)
            .arg("-f")
            .arg(context.join("Containerfile"))
            .arg(&context),
    )?;
    let image = out.join(format!("relay-{version}-oci.tar"));
    cmd::run(
        cmd::program("podman")
            .args(["save", "--format", "oci-archive", "-o"])
            .arg(&image)
            .arg(&tag),
    )?;
    std::fs::remove_dir_all(&context)
        .map_err(|e| format!("cannot remove {}: {e}", context.display()))?;
    Ok(image)
}

/// A JSON file of the unpacked OCI layout.
fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// The blob a descriptor (`{"digest": "sha256:…"}`) points to.
fn blob(layout: &Path, descriptor: &serde_json::Value) -> Result<PathBuf> {
    let digest = descriptor["digest"]
        .as_str()
        .ok_or_else(|| format!("a descriptor without digest: {descriptor}"))?;
    let (algorithm, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("odd digest {digest:?}"))?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) || algorithm.contains(['/', '.']) {
        return Err(format!("odd digest {digest:?}"));
    }
    Ok(layout.join("blobs").join(algorithm).join(hex))
}

/// Unpacks the archive (index.json → manifest → config and layers), checks
/// the image's settings, and runs its entrypoint in its root filesystem.
fn check_image(image: &Path, out: &Path) -> Result<()> {
    let work = out.join("check-image");
    let layout = work.join("layout");
    let rootfs = work.join("rootfs");
    recreate_dir(&work)?;
    for dir in [&layout, &rootfs] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    cmd::run(
        cmd::program("tar")
            .arg("-xf")
            .arg(image)
            .arg("-C")
            .arg(&layout),
    )?;
    let index = read_json(&layout.join("index.json"))?;
    let manifest = read_json(&blob(&layout, &index["manifests"][0])?)?;
    let config = read_json(&blob(&layout, &manifest["config"])?)?;
    let layers = manifest["layers"]
        .as_array()
        .ok_or("the manifest lists no layers")?;
    for layer in layers {
        // GNU tar sees by itself whether a layer is gzipped.
        cmd::run(
            cmd::program("tar")
                .arg("-xf")
                .arg(blob(&layout, layer)?)
                .arg("-C")
                .arg(&rootfs),
        )?;
    }
    let settings = &config["config"];
    let entrypoint: Vec<String> = settings["Entrypoint"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let user = settings["User"].as_str().unwrap_or_default().to_owned();
    let exposed = settings["ExposedPorts"].get("3000/tcp").is_some();
    let env: Vec<(String, String)> = settings["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str()?.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    if entrypoint != ["/relay"] {
        return Err(format!(
            "the image's entrypoint is {entrypoint:?}, not /relay"
        ));
    }
    if user.is_empty() || user.starts_with("0") || user.starts_with("root") {
        return Err(format!("the image runs as {user:?}, not as a plain user"));
    }
    if !exposed {
        return Err(format!("the image does not expose 3000/tcp: {settings}"));
    }
    let mut files = Vec::new();
    list_files(&rootfs, &rootfs, &mut files);
    files.sort();
    let expected = [
        "etc/group",
        "etc/passwd",
        "etc/ssl/certs/ca-certificates.crt",
        "relay",
    ];
    if files != expected {
        return Err(format!(
            "the image holds {files:?}, expected only {expected:?}"
        ));
    }
    // The flag wins over the image's RELAY_LISTEN: loopback only here.
    serve_and_probe(&rootfs, &entrypoint, &env, &user)?;
    eprintln!("  image: its entrypoint serves / and /healthz as {user} in its own root filesystem");
    std::fs::remove_dir_all(&work).map_err(|e| format!("cannot remove {}: {e}", work.display()))
}

/// The regular files below `dir`, relative and `/`-separated.
fn list_files(base: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            list_files(base, &path, files);
        } else if let Ok(rel) = path.strip_prefix(base) {
            files.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Kills the relay under test however the check ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` (its first element a path inside `root`) in `root` as
/// `user` with nothing but `env`, listening on a free loopback port; fails
/// unless it serves the page on `/` and answers `/healthz`.
fn serve_and_probe(
    root: &Path,
    command: &[String],
    env: &[(String, String)],
    user: &str,
) -> Result<()> {
    let port = free_port()?;
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let log = root.with_extension("log");
    let log_file =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| format!("cannot clone {}: {e}", log.display()))?;
    // The child's environment is cleared, PATH too: find chroot here.
    let chroot_exe = find_program("chroot").ok_or("no chroot on PATH (coreutils)")?;
    let mut chroot = Command::new(chroot_exe);
    chroot
        .arg(format!("--userspec={user}"))
        .arg(root)
        .args(command)
        .arg("--listen")
        .arg(listen.to_string())
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err);
    eprintln!(
        "$ chroot --userspec={user} {} {} --listen {listen}",
        root.display(),
        command.join(" ")
    );
    let child = chroot
        .spawn()
        .map_err(|e| format!("cannot start chroot (needs root): {e}"))?;
    let mut running = Running(child);
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + START_DEADLINE;
    let (status, body) = loop {
        if let Ok(Some(exit)) = running.0.try_wait() {
            return Err(format!("the relay exited ({exit}):\n{}", logs()));
        }
        match get(listen, "/") {
            Ok(answer) => break answer,
            Err(e) if Instant::now() > deadline => {
                return Err(format!("no answer on {listen} ({e}):\n{}", logs()))
            }
            // Not listening yet: try again shortly.
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    // trunk's page loads the wasm bundle through its generated script.
    if status != 200 || !body.contains("<html") || !body.contains("_bg.wasm") {
        return Err(format!(
            "GET / answered {status} without the built page:\n{body}\n{}",
            logs()
        ));
    }
    let (status, body) = get(listen, "/healthz")?;
    if status != 200 {
        return Err(format!(
            "GET /healthz answered {status}: {body}\n{}",
            logs()
        ));
    }
    drop(running);
    let _ = std::fs::remove_file(&log);
    Ok(())
}

/// `name` in one of `PATH`'s directories (or sbin, where root's tools are).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A plain HTTP/1.1 GET on loopback: the status and the body as text.
fn get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let io = |e: std::io::Error| format!("GET {path}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(io)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("GET {path}: not HTTP: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
