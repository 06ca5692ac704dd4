//! The chat as people enjoy it (issue 8): markdown answers and their
//! safety, German/English, light/dark, accessibility (axe-core), the
//! deployment's `/config.json`, the conversation controls, a long
//! conversation, and the embeddable chat bubble. Run with `cargo xtask test`.
//!
//! One module per topic; this file holds the helpers several use.

mod accessibility;
mod answers;
mod controls;
mod deployment;
mod keyboard;
mod looks;

use e2e::browser::{Browser, UI_TIMEOUT};
use e2e::{wait_for, Result};
use serde_json::Value;

const LIGHT_BG: &str = "rgb(246, 247, 249)";

const DARK_BG: &str = "rgb(21, 23, 26)";

async fn count(browser: &Browser, css: &str) -> Result<u64> {
    let n = browser
        .eval_with(
            "return document.querySelectorAll(arguments[0]).length",
            vec![Value::String(css.into())],
        )
        .await?;
    n.as_u64().ok_or_else(|| format!("count of {css}: {n}"))
}

async fn body_background(browser: &Browser) -> Result<String> {
    let v = browser
        .eval("return getComputedStyle(document.body).backgroundColor")
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// Waits until the page's background is `colour` (a theme applied).
async fn wait_background(browser: &Browser, colour: &str) -> Result {
    wait_for(&format!("background {colour}"), UI_TIMEOUT, || async {
        Ok((body_background(browser).await? == colour).then_some(()))
    })
    .await
}

async fn no_axe_violations(browser: &Browser, when: &str) -> Result {
    let violations = browser.axe_violations().await?;
    if violations.is_empty() {
        Ok(())
    } else {
        Err(format!("axe, {when}: {violations:#?}"))
    }
}
