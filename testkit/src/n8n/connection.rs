//! One keep-alive connection to the stand-in: reads its requests one after
//! the other and sends each where it belongs — n8n's `/chat` socket, an
//! approval link, or the answer for the current [`Mode`] — counting what
//! is in flight and finished for the tests.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::answer::{self, Buffers};
use super::request::{self, Recorded};
use super::stand_in::Shared;
use super::Mode;

/// Serves `stream` until the client closes it, stays idle for
/// `keep_alive` (as n8n does), sends garbage, or an answer ends it.
pub(super) async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    let mut buffers = Buffers::default();
    loop {
        let request =
            match tokio::time::timeout(shared.keep_alive, request::read(&mut stream, &mut buf))
                .await
            {
                Ok(Some(request)) => request,
                Err(_idle) => {
                    *shared.idle_closed.lock() += 1;
                    return;
                }
                // Closed, or garbage: close like n8n does.
                Ok(None) => return,
            };
        if request.method == "GET" {
            let (path, query) = request
                .path
                .split_once('?')
                .unwrap_or((request.path.as_str(), ""));
            if path == "/chat" {
                let key = header(&request, "sec-websocket-key").to_owned();
                let query = query.to_owned();
                let executions = shared.executions.clone();
                executions.serve_socket(stream, &key, &query).await;
                return;
            }
            if path.starts_with("/webhook-waiting/") {
                let answer = shared.executions.follow_link(
                    &request.path,
                    header(&request, "host"),
                    request.headers.get("user-agent").map(String::as_str),
                );
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
        }
        if !answer_message(&mut stream, &mut buffers, &shared, request).await {
            return;
        }
    }
}

fn header<'r>(request: &'r Recorded, name: &str) -> &'r str {
    request.headers.get(name).map_or("", String::as_str)
}

/// What the workflow's text is: `chatInput`, with the files it got listed
/// by name, type and size (so a test sees them in the answer).
fn input_of(body: &serde_json::Value) -> String {
    let input = body["chatInput"].as_str().unwrap_or_default();
    let Some(files) = body["files"].as_array() else {
        return input.to_owned();
    };
    let seen: Vec<String> = files
        .iter()
        .map(|f| {
            format!(
                "{} ({}, {})",
                f["fileName"].as_str().unwrap_or_default(),
                f["mimeType"].as_str().unwrap_or_default(),
                f["fileSize"].as_str().unwrap_or_default()
            )
        })
        .collect();
    format!("{input} [files: {}]", seen.join("; "))
}

/// Records a `sendMessage` / `loadPreviousSession` request and answers it;
/// returns whether the connection stays open.
async fn answer_message(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    shared: &Shared,
    request: Recorded,
) -> bool {
    let input = input_of(&request.body);
    let load_previous = request.body["action"] == "loadPreviousSession";
    let session = request.body["sessionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mode = shared.mode.lock().clone();
    let number = {
        let mut requests = shared.requests.lock();
        requests.push(request);
        requests.len() - 1
    };
    let mode = mode.for_request(number).await;
    {
        let mut f = shared.in_flight.lock();
        f.0 += 1;
        f.1 = f.1.max(f.0);
    }
    shared.changed.notify_waiters();
    if let Some(ms) = input
        .strip_prefix("slow:")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let keep_open = if load_previous {
        let history = shared.history.lock().clone();
        answer::history(stream, buffers, &history)
            .await
            .unwrap_or(false)
    } else if let Mode::RespondToChat(steps) = &mode {
        let started = shared.executions.start(&session, &input, steps);
        stream.write_all(started.as_bytes()).await.is_ok()
    } else {
        answer::respond(stream, buffers, &mode, &input)
            .await
            .unwrap_or(false)
    };
    *shared.finished.lock() += 1;
    shared.in_flight.lock().0 -= 1;
    shared.changed.notify_waiters();
    keep_open
}
