//! Code in answers, highlighted on the relay (issue 27): what a real
//! WebSocket client receives for an n8n answer with a fenced code block
//! (the stand-in echoes "echo: " and the text, so texts start on a new line).

use crate::support::{config_for, Client, Relay};
use shared::rich_text::{Block, Span};
use shared::ServerMessage;
use testkit::n8n::{Mode, StandIn};

/// The code blocks of the final answer to message `id`.
async fn code_blocks(client: &mut Client, id: &str) -> Vec<shared::rich_text::CodeBlock> {
    loop {
        match client.next().await {
            ServerMessage::Response { id: got, doc, .. } if got == id => {
                return doc
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|b| match b {
                        Block::Code(code) => Some(code),
                        _ => None,
                    })
                    .collect();
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_code_block_with_a_language_arrives_as_spans_beside_its_text() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Echo);
    let relay = Relay::start(config_for(&n8n.url("/webhook/abc/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let code = "fn main() {\n    let s = \"hi\"; // greet\n}\n";
    client
        .say(
            "m1",
            &format!("\n```rust\n{code}```\n\n```\nno language\n```"),
        )
        .await;
    let blocks = code_blocks(&mut client, "m1").await;
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    let rust = &blocks[0];
    assert_eq!(rust.text, code, "the plain text stays for older pages");
    let joined: String = rust.spans.iter().map(|Span(_, t)| t.as_str()).collect();
    assert_eq!(joined, code, "the spans are the text, nothing lost");
    for (kind, text) in [
        ("kw", "fn"),
        ("fn", "main"),
        ("str", "\"hi\""),
        ("com", "// greet"),
    ] {
        assert!(
            rust.spans
                .iter()
                .any(|Span(k, t)| k == kind && t.trim_end() == text),
            "{kind} {text}: {:?}",
            rust.spans
        );
    }
    // No language: no spans, the text as before.
    assert!(blocks[1].spans.is_empty());
    assert_eq!(blocks[1].text, "no language\n");
    relay.stop().await;
}

#[tokio::test]
async fn a_code_block_over_the_bound_arrives_unhighlighted() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Echo);
    let relay = Relay::start(config_for(&n8n.url("/webhook/abc/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let big = "x = 1\n".repeat(server::highlight::MAX_BYTES / 6 + 1);
    client.say("m1", &format!("\n```python\n{big}```")).await;
    let blocks = code_blocks(&mut client, "m1").await;
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].text, big);
    assert!(blocks[0].spans.is_empty(), "over the bound: plain");
    relay.stop().await;
}
