//! `relay`: the chat page's server. See the crate docs (`server`) for the map.

use server::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Flags first: `--log-format` decides how even the first line looks.
    // Clap reports its own errors (and --help) on stderr, without logging.
    let (mut config, deprecated_env) = Config::from_env_and_args();
    server::logging::init_with(config.logging.log_format);
    for warning in deprecated_env {
        tracing::warn!("{warning}");
    }
    // The binary keeps sessions in ./relay-data unless told otherwise.
    let redis = config.cluster.redis_url.is_some();
    if let Some(warning) = config.store.choose_default(redis) {
        tracing::warn!("{warning}");
    }
    // Checked before binding anything: an operator's port open to the
    // network without a token must not exist even for a moment.
    if let Some(Err(e)) = config
        .admin
        .admin_listen
        .map(|addr| config.admin.check(addr))
    {
        tracing::error!("{e}");
        return std::process::ExitCode::FAILURE;
    }
    let listener = match tokio::net::TcpListener::bind(&config.serve.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("cannot listen on {}: {e}", config.serve.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let admin = match config.admin.admin_listen {
        None => None,
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::error!("cannot listen on {addr} (--admin-listen): {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    match server::run_with_admin(listener, admin, config, server::shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
