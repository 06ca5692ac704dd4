//! nginx (Debian's package; `NGINX_BIN` names the binary) in front of relays,
//! configured from the deployable `deploy/nginx.conf`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{free_port, Owned};
use crate::{wait_for, Result};

/// A running nginx.
#[derive(Debug)]
pub struct Nginx {
    _process: Owned,
    dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// `deploy/nginx.conf` with its placeholders filled in.
pub fn config(
    listen: SocketAddr,
    relays: [SocketAddr; 2],
    prefix: &std::path::Path,
) -> Result<String> {
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf");
    let text = std::fs::read_to_string(&template)
        .map_err(|e| format!("read {}: {e}", template.display()))?;
    Ok(text
        .replace("@LISTEN@", &listen.to_string())
        .replace("@RELAY_A@", &relays[0].to_string())
        .replace("@RELAY_B@", &relays[1].to_string())
        .replace("@PREFIX@", &prefix.display().to_string()))
}

impl Nginx {
    /// Starts nginx on a free port balancing `relays`.
    pub async fn start(relays: [SocketAddr; 2]) -> Result<Nginx> {
        Self::start_on(free_port(), relays).await
    }

    /// Starts nginx on `port` (e.g. one the relays' `--public-url` names).
    pub async fn start_on(port: u16, relays: [SocketAddr; 2]) -> Result<Nginx> {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let dir =
            std::env::temp_dir().join(format!("e2e-nginx-{}-{}", std::process::id(), addr.port()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(addr, relays, &dir)?).map_err(|e| e.to_string())?;
        let binary = std::env::var_os("NGINX_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("nginx"));
        let mut command = Command::new(&binary);
        command
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            // nginx reads $NGINX itself (inherited sockets).
            .env_remove("NGINX")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let process =
            Owned::spawn(command).map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        wait_for("nginx to listen", Duration::from_secs(10), || async move {
            Ok(std::net::TcpStream::connect(addr).is_ok().then_some(()))
        })
        .await?;
        Ok(Nginx {
            _process: process,
            dir,
            addr,
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
