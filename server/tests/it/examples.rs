//! The example n8n workflows in `examples/n8n/` stay importable: valid JSON
//! in n8n's workflow shape, every connection between existing nodes, and
//! each answering the way the relay reads answers.

use std::collections::HashSet;

fn examples() -> Vec<(String, serde_json::Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/n8n");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/n8n exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((path.display().to_string(), value));
        }
    }
    out
}

/// n8n's CLI imports and publishes workflows by their top-level `id`, and
/// two imported workflows must not share a webhook or a node id (the second
/// would not register, or would replace the first).
#[test]
fn every_example_has_its_own_workflow_webhook_and_node_ids() {
    let mut workflow_ids = HashSet::new();
    let mut webhook_ids = HashSet::new();
    let mut node_ids = HashSet::new();
    for (name, wf) in examples() {
        let id = wf["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no top-level id"));
        assert!(!id.is_empty(), "{name}: empty id");
        assert!(
            workflow_ids.insert(id.to_owned()),
            "{name}: id {id} used twice"
        );
        for node in wf["nodes"].as_array().into_iter().flatten() {
            let node_id = node["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: a node without id"));
            assert!(
                node_ids.insert(node_id.to_owned()),
                "{name}: node id {node_id} used twice"
            );
            if let Some(hook) = node["webhookId"].as_str() {
                assert!(
                    webhook_ids.insert(hook.to_owned()),
                    "{name}: webhookId {hook} used twice"
                );
            }
        }
    }
}

/// The error branch's `error` is a string (n8n puts the message there), so
/// the answer must use it as is: `$json.error.message` is undefined.
#[test]
fn the_error_example_answers_with_the_error_text() {
    let (_, wf) = examples()
        .into_iter()
        .find(|(name, _)| name.ends_with("webhook-errors.json"))
        .expect("webhook-errors.json");
    let body = wf["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["name"] == "Respond error")
        .and_then(|n| n["parameters"]["responseBody"].as_str())
        .expect("Respond error body");
    assert!(body.contains("$json.error ??"), "{body}");
    assert!(!body.contains("error.message"), "{body}");
}

#[test]
fn every_example_is_a_connected_workflow_of_core_nodes() {
    let all = examples();
    assert_eq!(
        all.len(),
        8,
        "echo, streaming, error-handling, push, respond-to-chat, file, progress and voice examples"
    );
    for (name, wf) in all {
        let nodes = wf["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no nodes"));
        let names: HashSet<&str> = nodes.iter().filter_map(|n| n["name"].as_str()).collect();
        assert_eq!(
            names.len(),
            nodes.len(),
            "{name}: node names must be unique"
        );
        for node in nodes {
            let kind = node["type"].as_str().unwrap_or_default();
            assert!(
                kind.starts_with("n8n-nodes-base.")
                    || kind == "@n8n/n8n-nodes-langchain.chatTrigger"
                    || kind == "@n8n/n8n-nodes-langchain.chat"
                    // The voice example's transcription (an OpenAI key).
                    || (kind == "@n8n/n8n-nodes-langchain.openAi"
                        && name.ends_with("voice-transcribe.json")),
                "{name}: {kind} is not a core node"
            );
            assert!(
                node["typeVersion"].is_number() && node["position"].is_array(),
                "{name}: {node}"
            );
        }
        let trigger = nodes
            .iter()
            .find(|n| n["webhookId"].is_string())
            .unwrap_or_else(|| panic!("{name}: no trigger with a webhookId"));
        let connections = wf["connections"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no connections"));
        assert!(
            connections.contains_key(trigger["name"].as_str().unwrap_or_default()),
            "{name}: trigger not connected"
        );
        for (from, outputs) in connections {
            assert!(
                names.contains(from.as_str()),
                "{name}: connection from unknown {from}"
            );
            for target in outputs["main"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|o| o.as_array().into_iter().flatten())
            {
                let to = target["node"].as_str().unwrap_or_default();
                assert!(names.contains(to), "{name}: connection to unknown {to}");
            }
        }
    }
}

#[test]
fn the_push_example_posts_to_the_push_endpoint_with_a_bearer_token() {
    let (_, wf) = examples()
        .into_iter()
        .find(|(name, _)| name.ends_with("push-later.json"))
        .expect("push-later.json");
    let nodes = wf["nodes"].as_array().expect("nodes");
    let request = nodes
        .iter()
        .find(|n| n["type"] == "n8n-nodes-base.httpRequest")
        .expect("an HTTP Request node");
    let p = &request["parameters"];
    assert_eq!(p["method"], "POST");
    let url = p["url"].as_str().unwrap_or_default();
    assert!(
        url.contains("/api/sessions/") && url.ends_with("/messages"),
        "{url}"
    );
    assert!(
        url.contains("body.sessionId"),
        "the session comes from the relay's request: {url}"
    );
    let header = &p["headerParameters"]["parameters"][0];
    assert_eq!(header["name"], "Authorization");
    assert!(header["value"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Bearer "));
    assert!(p["jsonBody"]
        .as_str()
        .unwrap_or_default()
        .contains("\"text\""));
    // It answers the chat at once (the relay reads `output`), then pushes.
    let respond = nodes
        .iter()
        .find(|n| n["type"] == "n8n-nodes-base.respondToWebhook")
        .expect("a Respond to Webhook node");
    assert!(respond["parameters"]["responseBody"]
        .as_str()
        .unwrap_or_default()
        .contains("output"));
}

/// The "Respond to Chat" example: a Chat Trigger answering "Using Response
/// Nodes", a free-text question, an approval, a final message.
#[test]
fn the_respond_to_chat_example_asks_then_asks_for_approval() {
    let (_, wf) = examples()
        .into_iter()
        .find(|(name, _)| name.ends_with("respond-to-chat.json"))
        .expect("respond-to-chat.json");
    let nodes = wf["nodes"].as_array().expect("nodes");
    let trigger = &nodes[0];
    assert_eq!(
        trigger["parameters"]["options"]["responseMode"],
        "responseNodes"
    );
    let chat: Vec<&serde_json::Value> = nodes
        .iter()
        .filter(|n| n["type"] == "@n8n/n8n-nodes-langchain.chat")
        .collect();
    let kinds: Vec<(&str, &str)> = chat
        .iter()
        .map(|n| {
            (
                n["parameters"]["operation"].as_str().unwrap_or_default(),
                n["parameters"]["responseType"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("sendAndWait", "freeTextChat"),
            ("sendAndWait", "approval"),
            ("send", "")
        ]
    );
}

/// The files example: a Chat Trigger that takes files and answers with
/// each one's name, type and size from the `files` list n8n builds.
#[test]
fn the_files_example_takes_uploads_and_describes_each_file() {
    let (_, wf) = examples()
        .into_iter()
        .find(|(name, _)| name.ends_with("file-uploads.json"))
        .expect("file-uploads.json");
    let nodes = wf["nodes"].as_array().expect("nodes");
    let options = &nodes[0]["parameters"]["options"];
    assert_eq!(nodes[0]["type"], "@n8n/n8n-nodes-langchain.chatTrigger");
    assert_eq!(options["allowFileUploads"], true);
    assert_eq!(options["allowedFilesMimeTypes"], "image/*,application/pdf");
    assert_eq!(options["responseMode"], "lastNode");
    let code = nodes
        .iter()
        .find(|n| n["type"] == "n8n-nodes-base.code")
        .and_then(|n| n["parameters"]["jsCode"].as_str())
        .expect("a Code node");
    for field in ["files", "fileName", "mimeType", "fileSize", "output"] {
        assert!(code.contains(field), "{field} missing from {code}");
    }
}

/// The progress example has what issue 27's check needs: two streaming
/// nodes in sequence, then one in a loop, behind a streaming Webhook.
#[test]
fn the_progress_example_streams_two_steps_then_a_loop() {
    let (_, wf) = examples()
        .into_iter()
        .find(|(name, _)| name.ends_with("progress-steps.json"))
        .expect("progress-steps.json");
    let nodes = wf["nodes"].as_array().expect("nodes");
    let streaming: Vec<&str> = nodes
        .iter()
        .filter(|n| n["parameters"]["options"]["enableStreaming"] == true)
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(streaming, ["Knowledge base", "Writer", "Stream token"]);
    let webhook = nodes
        .iter()
        .find(|n| n["name"] == "Webhook")
        .expect("Webhook");
    assert_eq!(webhook["parameters"]["responseMode"], "streaming");
    // The loop: Loop Over Items' "loop" output (1) runs Stream token,
    // which goes back into it.
    let connections = &wf["connections"];
    assert_eq!(
        connections["Loop Over Items"]["main"][1][0]["node"],
        "Stream token"
    );
    assert_eq!(
        connections["Stream token"]["main"][0][0]["node"],
        "Loop Over Items"
    );
}

/// The voice example (issue 27) transcribes the first file (`data0`, the
/// recording the page attached) with n8n's OpenAI node, whose
/// transcription uses `whisper-1` (fixed in n8n 2.8's node).
#[test]
fn the_voice_example_transcribes_the_recording() {
    let (_, wf) = examples()
        .into_iter()
        .find(|(name, _)| name.ends_with("voice-transcribe.json"))
        .expect("voice-transcribe.json");
    let nodes = wf["nodes"].as_array().expect("nodes");
    let trigger = nodes
        .iter()
        .find(|n| n["type"] == "@n8n/n8n-nodes-langchain.chatTrigger")
        .expect("trigger");
    assert_eq!(trigger["parameters"]["options"]["allowFileUploads"], true);
    assert_eq!(
        trigger["parameters"]["options"]["allowedFilesMimeTypes"],
        "audio/*"
    );
    let transcribe = nodes
        .iter()
        .find(|n| n["type"] == "@n8n/n8n-nodes-langchain.openAi")
        .expect("OpenAI node");
    let p = &transcribe["parameters"];
    assert_eq!(
        (p["resource"].as_str(), p["operation"].as_str()),
        (Some("audio"), Some("transcribe"))
    );
    assert_eq!(p["binaryPropertyName"], "data0");
}
