//! `deploy/compose.yaml` stays in step with the relay: every flag and
//! `RELAY_…`/`N8N_…` variable it gives the relay (commented ones too, which
//! users uncomment) exists in `relay --help`, the flags parse, the image tag
//! is this version, and the trusted proxy is the proxy's fixed address.

use std::collections::BTreeSet;
use std::process::Command;

const COMPOSE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/compose.yaml"
));

/// Indentation of a line (spaces).
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The lines of the `relay` service: from `  relay:` to the next line
/// (comment or not) indented as little as a service name.
fn relay_service() -> Vec<&'static str> {
    let mut lines = COMPOSE.lines().skip_while(|l| *l != "  relay:");
    assert!(
        lines.next().is_some(),
        "compose.yaml has no `relay` service"
    );
    lines
        .take_while(|l| l.trim().is_empty() || indent(l) > 2)
        .collect()
}

/// A line without a leading `# ` (commented settings count).
fn uncommented(line: &str) -> &str {
    let t = line.trim();
    t.strip_prefix('#').map(str::trim).unwrap_or(t)
}

/// The relay's flags in `command:` (list items `- --flag[=value]`).
fn flags() -> Vec<String> {
    relay_service()
        .iter()
        .filter_map(|l| uncommented(l).strip_prefix("- "))
        .filter(|item| item.starts_with("--"))
        .map(|item| item.trim_matches('"').to_owned())
        .collect()
}

/// The `RELAY_…`/`N8N_…` keys of `environment:`.
fn env_keys() -> Vec<String> {
    relay_service()
        .iter()
        .filter_map(|l| uncommented(l).split_once(':'))
        .map(|(key, _)| key.trim())
        .filter(|key| key.starts_with("RELAY_") || key.starts_with("N8N_"))
        .map(str::to_owned)
        .collect()
}

fn help() -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_relay"))
        .arg("--help")
        .output()
        .expect("relay --help runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `--long` names and `[env: NAME=…]` names in the help text.
fn documented(help: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let words = help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']');
    let longs = words
        .clone()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| w.split(['=', '<']).next().unwrap_or(w).to_owned())
        .collect();
    let envs = help
        .split("env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .map(str::to_owned)
        .collect();
    (longs, envs)
}

#[test]
fn every_relay_flag_and_variable_in_compose_exists_and_parses() {
    let flags = flags();
    let names: Vec<&str> = flags
        .iter()
        .map(|f| f.trim_start_matches("--").split('=').next().unwrap_or(f))
        .collect();
    for needed in [
        "listen",
        "webhook-url",
        "public-url",
        "trusted-proxy",
        "redis-url",
    ] {
        assert!(
            names.contains(&needed),
            "compose.yaml's relay lacks --{needed}: {names:?}"
        );
    }
    let (longs, envs) = documented(&help());
    for name in &names {
        assert!(longs.contains(*name), "--{name} is not in relay --help");
    }
    let keys = env_keys();
    assert!(
        !keys.is_empty(),
        "no RELAY_/N8N_ variables found in compose.yaml"
    );
    for key in &keys {
        assert!(envs.contains(key), "{key} is not in relay --help");
    }
    let args = std::iter::once("relay".to_owned()).chain(flags.iter().cloned());
    if let Err(e) = <server::Config as clap::Parser>::try_parse_from(args) {
        panic!("compose.yaml's relay flags do not parse: {e}");
    }
}

#[test]
fn the_image_is_this_version_and_the_proxy_is_trusted_by_its_address() {
    let service = relay_service();
    let image = format!(
        "image: localhost/n8n-chat-relay:{}",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        service.iter().any(|l| l.trim() == image),
        "the relay service should use `{image}`"
    );
    let trusted = flags()
        .into_iter()
        .find_map(|f| f.strip_prefix("--trusted-proxy=").map(str::to_owned))
        .expect("--trusted-proxy");
    assert!(
        COMPOSE.contains(&format!("ipv4_address: {trusted}")),
        "--trusted-proxy={trusted} is not the proxy's fixed address"
    );
}
