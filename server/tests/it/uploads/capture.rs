//! Files reach n8n as its Chat Trigger takes them: the captured
//! multipart of a real n8n widget, sent through the relay, arrives part
//! for part (plain and streaming answers).

use std::time::Duration;

use super::{file_ref, left_in, say_with_files, scratch, upload, with_uploads};
use crate::support::{response_text, Client, Relay};
use shared::ServerMessage;
use testkit::multipart::{n8n_view, FormPart};
use testkit::n8n::{Mode, StandIn};

fn files_of(parts: &[FormPart]) -> Vec<&FormPart> {
    parts.iter().filter(|p| p.filename.is_some()).collect()
}

/// The captured upload `capture`, sent through the relay: what the
/// stand-in receives matches the capture part by part, and the workflow
/// sees what n8n's workflow saw.
async fn the_capture_through_the_relay(capture: &str, mode: Mode) {
    let (parts, seen) = testkit::upload_capture(capture).expect("capture");
    let session = seen["json"]["sessionId"]
        .as_str()
        .expect("session")
        .to_owned();
    let input = seen["json"]["chatInput"]
        .as_str()
        .expect("input")
        .to_owned();
    let metadata: serde_json::Value =
        serde_json::from_str(seen["json"]["metadata"].as_str().expect("metadata")).expect("json");
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(mode);
    let dir = scratch();
    let relay = Relay::start(with_uploads(&n8n.url("/webhook/e1/chat"), &dir)).await;
    let mut client = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    let mut refs = Vec::new();
    for part in files_of(&parts) {
        let (status, answer) = upload(
            &relay,
            &session,
            part.filename.as_deref().unwrap_or_default(),
            part.content_type.as_deref().unwrap_or_default(),
            part.bytes.clone(),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        refs.push(file_ref(&answer));
    }
    say_with_files(&mut client, "m1", &input, Some(metadata.clone()), refs).await;
    let answer = loop {
        match client.next().await {
            ServerMessage::Chunk { .. } => continue,
            other => break response_text(&other, "m1"),
        }
    };
    assert!(
        answer.starts_with(&format!("echo: {input} [files: ")),
        "{answer}"
    );
    let sent = &n8n.requests()[0];
    // Text parts: the same names in the same order; metadata a JSON string.
    let texts: Vec<(&str, String)> = sent
        .parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| {
            (
                p.name.as_str(),
                String::from_utf8_lossy(&p.bytes).into_owned(),
            )
        })
        .collect();
    let captured: Vec<(&str, String)> = parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| {
            (
                p.name.as_str(),
                String::from_utf8_lossy(&p.bytes).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        texts.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        captured.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    for ((name, value), (_, expected)) in texts.iter().zip(&captured) {
        if *name == "metadata" {
            let a: serde_json::Value = serde_json::from_str(value).expect("metadata is JSON text");
            let b: serde_json::Value = serde_json::from_str(expected).expect("captured metadata");
            assert_eq!(a, b);
        } else {
            assert_eq!(value, expected, "{name}");
        }
    }
    // File parts: all named `files`, same file names, types and bytes.
    let got = files_of(&sent.parts);
    let want = files_of(&parts);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.name, "files");
        assert_eq!(
            (&g.filename, &g.content_type),
            (&w.filename, &w.content_type)
        );
        assert!(g.bytes == w.bytes, "{:?}: bytes differ", g.filename);
    }
    // And the workflow sees what n8n's saw.
    let (view, keys) = n8n_view(&sent.parts);
    let mut expected = seen["json"].clone();
    // (metadata is compared as JSON above: key order is the page's.)
    expected["metadata"] = view["metadata"].clone();
    assert_eq!(view, expected);
    assert_eq!(keys.len(), want.len());
    // Answered: the files are gone.
    let health = relay
        .wait_health("uploads deleted", |h| h["uploads"]["files"] == 0)
        .await;
    assert_eq!(health["uploads"]["bytes"], 0);
    assert_eq!(left_in(&dir), 0, "nothing left on disk");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn one_file_reaches_n8n_as_the_widget_sends_it() {
    the_capture_through_the_relay("01-one-png", Mode::Echo).await;
}

#[tokio::test]
async fn three_files_reach_n8n_as_the_widget_sends_them() {
    the_capture_through_the_relay("02-three-files", Mode::Echo).await;
}

#[tokio::test]
async fn three_files_with_a_streaming_answer() {
    the_capture_through_the_relay(
        "03-three-files-streaming",
        Mode::Stream {
            gap: Duration::from_millis(50),
        },
    )
    .await;
}

#[tokio::test]
async fn one_file_with_a_streaming_answer() {
    the_capture_through_the_relay(
        "01-one-png",
        Mode::Stream {
            gap: Duration::from_millis(50),
        },
    )
    .await;
}
