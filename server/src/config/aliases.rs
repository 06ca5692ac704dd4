//! One environment prefix: every flag's variable is `RELAY_…`. The few that
//! used to be `N8N_…` are still read, for one release, when their `RELAY_`
//! name is unset — with a warning, so a deployment learns the new name
//! before the old one goes away.
//!
//! clap reads one variable per flag, so the old name is honoured by pointing
//! that flag's `env` at it before parsing; the process environment is never
//! changed (tests read it through a lookup closure instead).

use std::ffi::{OsStr, OsString};

use clap::{CommandFactory, FromArgMatches};

use super::Config;

/// `(current name, deprecated alias)`: the `N8N_*` names read before every
/// variable became `RELAY_*`. Remove a pair after one release.
pub const DEPRECATED_ENV: &[(&str, &str)] = &[
    ("RELAY_WEBHOOK_URL", "N8N_WEBHOOK_URL"),
    ("RELAY_FEEDBACK_URL", "N8N_FEEDBACK_URL"),
    ("RELAY_CHAT_INPUT_KEY", "N8N_CHAT_INPUT_KEY"),
    ("RELAY_SESSION_KEY", "N8N_SESSION_KEY"),
    ("RELAY_WEBHOOK_HEADERS", "N8N_WEBHOOK_HEADERS"),
    ("RELAY_WEBHOOK_BASIC_AUTH", "N8N_WEBHOOK_BASIC_AUTH"),
    ("RELAY_N8N_CHAT_URL", "N8N_CHAT_URL"),
];

/// What to do about the deprecated names, given how the environment looks
/// (`lookup` is `std::env::var_os` in the binary): the `(current, alias)`
/// pairs whose alias is to be read instead, and one warning per alias in
/// use. The warnings name variables only, never their values (several hold
/// credentials).
pub fn resolve_aliases(
    lookup: impl Fn(&str) -> Option<OsString>,
) -> (Vec<(&'static str, &'static str)>, Vec<String>) {
    let mut read_alias = Vec::new();
    let mut warnings = Vec::new();
    for &(current, alias) in DEPRECATED_ENV {
        if lookup(alias).is_none() {
            continue;
        }
        if lookup(current).is_some() {
            warnings.push(format!(
                "{alias} is ignored: {current} is set too ({alias} is the old name; remove it)"
            ));
        } else {
            read_alias.push((current, alias));
            warnings.push(format!(
                "{alias} is deprecated and will stop working in a future release: rename it to {current}"
            ));
        }
    }
    (read_alias, warnings)
}

/// The command line definition, with each flag in `read_alias` reading its
/// deprecated variable instead of its current one.
pub fn command_reading(read_alias: &[(&str, &'static str)]) -> clap::Command {
    Config::command().mut_args(|arg| {
        let alias = read_alias
            .iter()
            .find(|(current, _)| arg.get_env() == Some(OsStr::new(current)))
            .map(|&(_, alias)| alias);
        match alias {
            Some(alias) => arg.env(alias),
            None => arg,
        }
    })
}

impl Config {
    /// The binary's parse: the command line, then the `RELAY_*` variables,
    /// then the deprecated `N8N_*` ones where the `RELAY_*` name is unset.
    /// Exits with clap's message on invalid arguments, like `parse`. Returns
    /// the deprecation warnings for `main` to log once logging is set up.
    pub fn from_env_and_args() -> (Self, Vec<String>) {
        let (read_alias, warnings) = resolve_aliases(|name| std::env::var_os(name));
        let matches = command_reading(&read_alias).get_matches();
        match Config::from_arg_matches(&matches) {
            Ok(config) => (config, warnings),
            Err(e) => e.exit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn the_old_n8n_names_are_read_when_the_relay_names_are_unset() {
        let (read_alias, warnings) = resolve_aliases(env(&[
            (
                "N8N_WEBHOOK_URL",
                "https://user:hunter2@n8n.example/webhook/x",
            ),
            ("N8N_WEBHOOK_BASIC_AUTH", "me:hunter2"),
            ("RELAY_WEBHOOK_BASIC_AUTH", "me:other"),
            ("RELAY_SESSION_KEY", "sid"),
        ]));
        assert_eq!(read_alias, [("RELAY_WEBHOOK_URL", "N8N_WEBHOOK_URL")]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("N8N_WEBHOOK_URL") && warnings[0].contains("RELAY_WEBHOOK_URL")
        );
        assert!(warnings[1].contains("ignored"), "{warnings:?}");
        assert!(
            warnings.iter().all(|w| !w.contains("hunter2")),
            "a warning shows a secret: {warnings:?}"
        );

        let cmd = command_reading(&read_alias);
        let env_of = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(env_of("webhook_url").as_deref(), Some("N8N_WEBHOOK_URL"));
        assert_eq!(
            env_of("webhook_basic_auth").as_deref(),
            Some("RELAY_WEBHOOK_BASIC_AUTH")
        );

        let (none, quiet) = resolve_aliases(env(&[("RELAY_WEBHOOK_URL", "http://x")]));
        assert!(none.is_empty() && quiet.is_empty());
    }

    #[test]
    fn every_flag_reads_a_relay_variable_and_every_alias_names_one() {
        let cmd = Config::command();
        let envs: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        for env in &envs {
            assert!(env.starts_with("RELAY_"), "{env} is not a RELAY_ name");
        }
        for (current, alias) in DEPRECATED_ENV {
            assert!(envs.iter().any(|e| e == current), "no flag reads {current}");
            assert!(alias.starts_with("N8N_"), "{alias}");
        }
    }
}
