//! Headless Chromium over WebDriver, with helpers for the page's
//! `data-testid` hooks.

use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::process::{free_port, Owned};
use crate::{artifacts_dir, env_path, wait_for, Result};

/// How long a UI expectation may take by default.
pub const UI_TIMEOUT: Duration = Duration::from_secs(10);

/// A Chrome DevTools Protocol command, sent through chromedriver's
/// `goog/cdp/execute` endpoint.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Records every CSP violation of every document the browser loads (frames
/// included) in `window.__cspViolations`, from before the page's own first
/// script runs.
const CSP_WATCH: &str = "window.__cspViolations = [];\n\
    document.addEventListener('securitypolicyviolation', (e) => {\n\
      window.__cspViolations.push(e.violatedDirective + ' blocked ' + e.blockedURI + \
        ' at ' + e.sourceFile + ':' + e.lineNumber + ' ' + (e.sample || ''));\n\
    }, true);";

/// One entry of the browser's Resource Timing (the navigation or a
/// resource): what crossed the wire for it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Its URL.
    pub name: String,
    /// Bytes on the wire, headers included (0: from the cache unasked).
    pub transfer: u64,
    /// Body bytes as sent (compressed).
    pub encoded: u64,
    /// Body bytes after decoding.
    pub decoded: u64,
    /// HTTP status (of the cached response when revalidated).
    pub status: u64,
}

impl Fetched {
    /// For logs: name, bytes on the wire, body bytes, status.
    pub fn row(&self) -> String {
        format!(
            "{} transfer={} encoded={} decoded={} status={}",
            self.name, self.transfer, self.encoded, self.decoded, self.status
        )
    }
}

/// A chromedriver process and one browser session on it.
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Owned,
    profile: std::path::PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and a fresh headless Chromium profile.
    pub async fn start() -> Result<Browser> {
        Self::start_with(&[]).await
    }

    /// Like [`Browser::start`] with extra Chromium flags (e.g.
    /// `--force-dark-mode`, `--lang=de-DE`; a later `--lang` wins).
    pub async fn start_with(extra_args: &[&str]) -> Result<Browser> {
        Self::start_chromium(extra_args, serde_json::json!({})).await
    }

    /// Starts the browser `engine` (see [`Engine`]).
    pub async fn start_engine(engine: Engine) -> Result<Browser> {
        match engine {
            Engine::Chromium => Self::start().await,
            // Third-party cookies blocked, and without partitioned storage
            // for third parties (Chromium 156 otherwise hands a blocked
            // frame a partitioned `localStorage`): a cross-site frame's
            // `localStorage` throws `SecurityError`, as in the browsers
            // that block third-party storage outright. The suites check it.
            Engine::ChromiumThirdPartyBlocked => {
                Self::start_chromium(
                    &["--disable-features=ThirdPartyStoragePartitioning"],
                    serde_json::json!({
                        "profile.block_third_party_cookies": true,
                        "profile.cookie_controls_mode": 1,
                    }),
                )
                .await
            }
            Engine::Firefox => Self::start_firefox().await,
            Engine::WebKit => Self::start_webkit().await,
        }
    }

    /// Headless Firefox over geckodriver (`GECKODRIVER`, `FIREFOX_BIN`), with
    /// its default storage partitioning (by top-level site).
    pub async fn start_firefox() -> Result<Browser> {
        let port = free_port();
        let mut command = Command::new(env_path("GECKODRIVER"));
        command
            .arg(format!("--port={port}"))
            .arg("--host=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver = Owned::spawn(command).map_err(|e| format!("cannot start geckodriver: {e}"))?;
        let caps = serde_json::json!({
            "moz:firefoxOptions": {
                "binary": env_path("FIREFOX_BIN"),
                "args": ["-headless", "--width=900", "--height=800"],
                "prefs": { "intl.accept_languages": "en-US" },
            }
        });
        Self::connect(port, caps, driver, std::path::PathBuf::new()).await
    }

    /// WebKitGTK's `WebKitWebDriver` (`WEBKIT_DRIVER`; the browser runs
    /// under the X server the caller provides, e.g. `xvfb-run`).
    pub async fn start_webkit() -> Result<Browser> {
        let port = free_port();
        // WebKitGTK has no headless mode: a virtual X server when given.
        let mut command = match std::env::var_os("XVFB_RUN").filter(|x| !x.is_empty()) {
            Some(xvfb) => {
                let mut c = Command::new(xvfb);
                c.arg("-a").arg(env_path("WEBKIT_DRIVER"));
                c
            }
            None => Command::new(env_path("WEBKIT_DRIVER")),
        };
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver =
            Owned::spawn(command).map_err(|e| format!("cannot start WebKitWebDriver: {e}"))?;
        let caps = serde_json::json!({
            "webkitgtk:browserOptions": {
                "binary": env_path("WEBKIT_BROWSER"),
                "args": ["--automation"],
            }
        });
        Self::connect(port, caps, driver, std::path::PathBuf::new()).await
    }

    async fn connect(
        port: u16,
        caps: serde_json::Value,
        driver: Owned,
        profile: std::path::PathBuf,
    ) -> Result<Browser> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => return Err("capabilities".into()),
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = wait_for("the WebDriver", Duration::from_secs(30), || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                match ClientBuilder::rustls()
                    .map_err(|e| e.to_string())?
                    .capabilities(caps)
                    .connect(&url)
                    .await
                {
                    Ok(c) => Ok(Some(c)),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await?;
        Ok(Browser {
            client,
            _driver: driver,
            profile,
        })
    }

    async fn start_chromium(extra_args: &[&str], prefs: serde_json::Value) -> Result<Browser> {
        let port = free_port();
        let mut command = Command::new(env_path("CHROMEDRIVER"));
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver =
            Owned::spawn(command).map_err(|e| format!("cannot start chromedriver: {e}"))?;
        let profile =
            std::env::temp_dir().join(format!("e2e-profile-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=900,800",
            "--lang=en-US",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(extra_args.iter().map(|a| a.to_string()));
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": env_path("CHROME_BIN"),
                "args": args,
                "prefs": prefs,
            }
        });
        Self::connect(port, caps, driver, profile).await
    }

    /// From now on, every document records its CSP violations (see
    /// [`Browser::csp_violations`]).
    pub async fn watch_csp(&self) -> Result {
        self.client
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: serde_json::json!({ "source": CSP_WATCH }),
            })
            .await
            .map(|_| ())
            .map_err(|e| format!("CDP: {e}"))
    }

    /// The CSP violations the current document recorded (needs
    /// [`Browser::watch_csp`] before it loaded).
    pub async fn csp_violations(&self) -> Result<Vec<String>> {
        let v = self
            .eval("return window.__cspViolations === undefined ? null : window.__cspViolations")
            .await?;
        match v {
            serde_json::Value::Array(items) => Ok(items
                .into_iter()
                .map(|i| i.as_str().unwrap_or_default().to_owned())
                .collect()),
            _ => Err("the CSP watcher is not installed in this document".into()),
        }
    }

    /// Opens `url` and waits for the page to mount.
    pub async fn open(&self, url: &str) -> Result {
        self.client
            .goto(url)
            .await
            .map_err(|e| format!("goto {url}: {e}"))?;
        self.wait_state(&["connecting", "online", "reconnecting", "offline"])
            .await
            .map(|_| ())
    }

    /// Opens `url` and waits until the page is online.
    pub async fn open_online(&self, url: &str) -> Result {
        self.open(url).await?;
        self.wait_state(&["online"]).await.map(|_| ())
    }

    /// The status indicator's `data-state`.
    pub async fn status(&self) -> Result<String> {
        let el = self
            .client
            .find(Locator::Css("[data-testid=status]"))
            .await
            .map_err(|e| e.to_string())?;
        el.attr("data-state")
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no data-state".into())
    }

    /// Waits until the status is one of `states`; returns it.
    pub async fn wait_state(&self, states: &[&str]) -> Result<String> {
        self.wait_state_for(states, UI_TIMEOUT).await
    }

    /// Like [`Browser::wait_state`] with a custom timeout.
    pub async fn wait_state_for(&self, states: &[&str], timeout: Duration) -> Result<String> {
        wait_for(&format!("status {states:?}"), timeout, || async {
            let s = self.status().await?;
            Ok(states.contains(&s.as_str()).then_some(s))
        })
        .await
    }

    /// Types `text` into the input and presses Enter; returns the new
    /// message's `data-id`.
    pub async fn send(&self, text: &str) -> Result<String> {
        let before = self.user_ids().await?;
        let input = self
            .client
            .find(Locator::Css("[data-testid=message-input]"))
            .await
            .map_err(|e| e.to_string())?;
        input.send_keys(text).await.map_err(|e| e.to_string())?;
        input
            .send_keys("\u{E007}")
            .await
            .map_err(|e| e.to_string())?; // Enter
        self.new_user_message(&before).await
    }

    /// Waits for a user message whose id is not in `before`; returns it.
    async fn new_user_message(&self, before: &[String]) -> Result<String> {
        wait_for("the new user message", UI_TIMEOUT, || async move {
            let now = self.user_ids().await?;
            Ok(now.into_iter().find(|id| !before.contains(id)))
        })
        .await
    }

    /// The ids of the user messages, in order.
    pub async fn user_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .messages()
            .await?
            .into_iter()
            .filter(|m| m.role == "user")
            .map(|m| m.id)
            .collect())
    }

    /// Every message line as (role, id, state, text).
    pub async fn messages(&self) -> Result<Vec<Shown>> {
        let script = r#"return Array.from(document.querySelectorAll('[data-testid=message]')).map(e => ({
            role: e.dataset.role || '', id: e.dataset.id || '', state: e.dataset.state || '',
            text: (e.querySelector('.bubble') || e).innerText }));"#;
        let value = self
            .client
            .execute(script, vec![])
            .await
            .map_err(|e| e.to_string())?;
        let list = value.as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .map(|v| Shown {
                role: v["role"].as_str().unwrap_or_default().to_owned(),
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                state: v["state"].as_str().unwrap_or_default().to_owned(),
                text: v["text"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// The `data-state` of the user message `id`.
    pub async fn message_state(&self, id: &str) -> Result<String> {
        self.messages()
            .await?
            .into_iter()
            .find(|m| m.role == "user" && m.id == id)
            .map(|m| m.state)
            .ok_or_else(|| format!("no user message {id}"))
    }

    /// Waits until user message `id` has `state`.
    pub async fn wait_message_state(&self, id: &str, state: &str, timeout: Duration) -> Result {
        wait_for(&format!("message {id} to be {state}"), timeout, || async {
            let s = self.message_state(id).await?;
            Ok((s == state).then_some(()))
        })
        .await
    }

    /// The bot answers shown for `id`.
    pub async fn answers_for(&self, id: &str) -> Result<Vec<String>> {
        Ok(self
            .messages()
            .await?
            .into_iter()
            .filter(|m| m.role == "bot" && m.id == id)
            .map(|m| m.text)
            .collect())
    }

    /// The error lines shown for `id`.
    pub async fn errors_for(&self, id: &str) -> Result<Vec<String>> {
        Ok(self
            .messages()
            .await?
            .into_iter()
            .filter(|m| m.role == "error" && m.id == id)
            .map(|m| m.text)
            .collect())
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("{css}: {e}"))?;
        el.click().await.map_err(|e| format!("click {css}: {e}"))
    }

    /// Evaluates JavaScript and returns its value.
    pub async fn eval(&self, script: &str) -> Result<serde_json::Value> {
        self.client
            .execute(script, vec![])
            .await
            .map_err(|e| e.to_string())
    }

    /// Puts `text` in the input as is (new lines included) and clicks send;
    /// returns the new message's `data-id`.
    pub async fn send_multiline(&self, text: &str) -> Result<String> {
        let before = self.user_ids().await?;
        self.client
            .execute(
                r#"const area = document.querySelector('[data-testid=message-input]');
                   area.value = arguments[0];
                   area.dispatchEvent(new Event('input', { bubbles: true }));
                   document.querySelector('[data-testid=send]').click();"#,
                vec![serde_json::Value::String(text.to_owned())],
            )
            .await
            .map_err(|e| e.to_string())?;
        self.new_user_message(&before).await
    }

    /// Evaluates JavaScript with arguments.
    pub async fn eval_with(
        &self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        self.client
            .execute(script, args)
            .await
            .map_err(|e| e.to_string())
    }

    /// The text of the first element matching `css` (empty if none).
    pub async fn text(&self, css: &str) -> Result<String> {
        let value = self
            .eval_with(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                vec![serde_json::Value::String(css.to_owned())],
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the text of `css` is `expected`.
    pub async fn wait_text(&self, css: &str, expected: &str) -> Result {
        wait_for(
            &format!("{css} to read {expected:?}"),
            UI_TIMEOUT,
            || async { Ok((self.text(css).await? == expected).then_some(())) },
        )
        .await
    }

    /// Resizes the window (CSS pixels at zoom 100 %).
    pub async fn set_size(&self, width: u32, height: u32) -> Result {
        self.client
            .set_window_size(width, height)
            .await
            .map_err(|e| e.to_string())
    }

    /// The current document's navigation and resources, from the Resource
    /// Timing API.
    pub async fn fetched(&self) -> Result<Vec<Fetched>> {
        let v = self
            .eval(
                "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))\n\
                   .map(e => ({ name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize,\n\
                                decoded: e.decodedBodySize, status: e.responseStatus || 0 }));",
            )
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .map(|e| Fetched {
                name: e["name"].as_str().unwrap_or_default().to_owned(),
                transfer: e["transfer"].as_u64().unwrap_or(0),
                encoded: e["encoded"].as_u64().unwrap_or(0),
                decoded: e["decoded"].as_u64().unwrap_or(0),
                status: e["status"].as_u64().unwrap_or(0),
            })
            .collect())
    }

    /// Runs axe-core (`AXE_JS`, injected into the page) on the document and
    /// returns its violations as `id: description (n nodes: selectors…)`.
    pub async fn axe_violations(&self) -> Result<Vec<String>> {
        let axe = std::fs::read_to_string(env_path("AXE_JS"))
            .map_err(|e| format!("cannot read AXE_JS: {e}"))?;
        self.client
            .execute(&format!("{axe}\n;return true;"), vec![])
            .await
            .map_err(|e| format!("injecting axe: {e}"))?;
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { resultTypes: ['violations'] })
                     .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.length
                        + ' nodes: ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ') + ')')))
                     .catch(e => done(['axe failed: ' + e]));"#,
                vec![],
            )
            .await
            .map_err(|e| format!("running axe: {e}"))?;
        Ok(result
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Saves a screenshot to `target/e2e/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<std::path::PathBuf> {
        let png = self.client.screenshot().await.map_err(|e| e.to_string())?;
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Ends the session and the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A browser engine the embedding suites run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Headless Chromium as the other suites run it.
    Chromium,
    /// Chromium with third-party cookies and storage blocked.
    ChromiumThirdPartyBlocked,
    /// Headless Firefox (ESR).
    Firefox,
    /// WebKitGTK (MiniBrowser over WebKitWebDriver).
    WebKit,
}

impl Engine {
    /// Whether a suite must skip this engine (its tools were not given),
    /// saying so on stderr.
    pub fn skipped(self) -> bool {
        if self.available() {
            return false;
        }
        eprintln!("skipped: no {self:?} given (cargo xtask test installs it)");
        true
    }

    /// Whether this engine's tools were given (`cargo xtask test` sets the
    /// variables of the ones it installed); suites skip the others, saying so.
    pub fn available(self) -> bool {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        match self {
            Engine::Chromium | Engine::ChromiumThirdPartyBlocked => {
                set("CHROMEDRIVER") && set("CHROME_BIN")
            }
            Engine::Firefox => set("GECKODRIVER") && set("FIREFOX_BIN"),
            Engine::WebKit => set("WEBKIT_DRIVER") && set("WEBKIT_BROWSER"),
        }
    }
}

/// One message line as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// `data-role`.
    pub role: String,
    /// `data-id`.
    pub id: String,
    /// `data-state` (user messages).
    pub state: String,
    /// The bubble's text.
    pub text: String,
}
