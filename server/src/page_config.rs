//! `GET /config.json`: the page's deployment settings.
//!
//! Built once at start from `--page-config <file>` and the flags that
//! override it (`--title`, `--welcome`, `--language`, `--streaming`,
//! `--placeholder`), so one built page serves many deployments.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use shared::PageConfig;

use crate::{AppState, Config, RelayError};

/// The page config for `config`: the file (if any), then the flags.
pub fn build(config: &Config) -> Result<PageConfig, RelayError> {
    let mut page = match &config.page_config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                RelayError::PageConfig(format!("cannot read {}: {e}", path.display()))
            })?;
            serde_json::from_str(&text).map_err(|e| {
                RelayError::PageConfig(format!("{} is not a page config: {e}", path.display()))
            })?
        }
        None => PageConfig::default(),
    };
    if let Some(title) = &config.title {
        page.title = Some(title.clone());
    }
    let welcome: Vec<String> = config
        .welcome
        .iter()
        .filter(|w| !w.trim().is_empty())
        .cloned()
        .collect();
    if !welcome.is_empty() {
        page.welcome = welcome;
    }
    if let Some(language) = &config.language {
        page.language = Some(language.clone());
    }
    if let Some(streaming) = config.streaming {
        page.streaming = streaming;
    }
    if let Some(placeholder) = &config.placeholder {
        page.placeholder = Some(placeholder.clone());
    }
    // Only the flag sets where the page connects: a `relayUrl` in the file
    // is ignored, so the file cannot point pages at another relay by itself.
    page.relay_url = config.relay_url.as_ref().map(url::Url::to_string);
    Ok(page)
}

/// The handler. `no-cache`: a changed deployment shows on the next load.
pub async fn config_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.page_config.clone(),
    )
}
