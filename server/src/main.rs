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
    let listener = match tokio::net::TcpListener::bind(&config.serve.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("cannot listen on {}: {e}", config.serve.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    match server::run(listener, config, server::shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
