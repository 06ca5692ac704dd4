//! The operator's listener: `--admin-listen`, `--admin-token`.

use std::net::SocketAddr;

use super::values::Secret;

/// The operator's listener (metrics, pause, usage).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Operator's listener")]
pub struct AdminFlags {
    /// Serve /metrics, /pause, /resume and /usage on this address (default off).
    ///
    /// Its own port, never the public one: e.g. `127.0.0.1:9090`. An address
    /// other than loopback needs --admin-token.
    #[arg(long, env = "RELAY_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,

    /// Bearer token the operator's listener requires (at least 16 characters).
    ///
    /// Required when --admin-listen is not a loopback address; on loopback it
    /// is optional, and checked when set.
    #[arg(long, env = "RELAY_ADMIN_TOKEN", value_parser = parse_admin_token, hide_env_values = true)]
    pub admin_token: Option<Secret>,
}

/// An `--admin-token`: at least 16 characters.
fn parse_admin_token(s: &str) -> Result<Secret, String> {
    if s.chars().count() < 16 {
        return Err("the admin token must be at least 16 characters (use a random one)".into());
    }
    Ok(Secret(s.to_owned()))
}

impl AdminFlags {
    /// Whether the operator's listener may run on `addr` with these flags:
    /// anything but loopback without a token would let anyone on the
    /// network pause the chat and read its numbers.
    pub fn check(&self, addr: SocketAddr) -> Result<(), String> {
        if self.admin_token.is_none() && !addr.ip().is_loopback() {
            return Err(format!(
                "--admin-listen {addr} is not a loopback address: set --admin-token (RELAY_ADMIN_TOKEN) too"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(token: Option<&str>) -> AdminFlags {
        AdminFlags {
            admin_listen: None,
            admin_token: token.map(|t| Secret(t.to_owned())),
        }
    }

    #[test]
    fn only_loopback_goes_without_a_token() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect("addr");
        assert!(flags(None).check(addr("127.0.0.1:9090")).is_ok());
        assert!(flags(None).check(addr("[::1]:9090")).is_ok());
        let refused = flags(None).check(addr("0.0.0.0:9090"));
        assert!(refused.is_err_and(|e| e.contains("--admin-token")));
        assert!(flags(None).check(addr("10.0.0.5:9090")).is_err());
        assert!(flags(Some("0123456789abcdef"))
            .check(addr("0.0.0.0:9090"))
            .is_ok());
    }
}
