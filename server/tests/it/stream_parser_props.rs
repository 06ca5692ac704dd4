//! Property tests for the n8n stream parser: however the bytes are split
//! into HTTP chunks, the same events come out, in order.

use proptest::prelude::*;
use server::responder::n8n::stream::{NdjsonParser, Node, StreamEvent};

fn line_for(event: &StreamEvent) -> String {
    match event {
        StreamEvent::Text(t) => {
            let content = serde_json::Value::String(t.clone());
            format!(
                r#"{{"type":"item","content":{content},"metadata":{{"nodeId":"n","runIndex":0}}}}"#
            )
        }
        StreamEvent::Error(None) => r#"{"type":"error","content":null}"#.to_owned(),
        StreamEvent::Error(Some(m)) => {
            format!(
                r#"{{"type":"error","content":{}}}"#,
                serde_json::Value::String(m.clone())
            )
        }
        StreamEvent::Begin(n) | StreamEvent::End(n) => {
            let kind = if matches!(event, StreamEvent::Begin(_)) {
                "begin"
            } else {
                "end"
            };
            format!(
                r#"{{"type":"{kind}","metadata":{{"nodeId":{},"nodeName":{},"itemIndex":{},"runIndex":{},"timestamp":1}}}}"#,
                serde_json::Value::String(n.node_id.clone()),
                serde_json::Value::String(n.node_name.clone()),
                n.item_index,
                n.run_index
            )
        }
    }
}

fn node() -> impl Strategy<Value = Node> {
    ("[a-f0-9-]{1,12}", "\\PC{1,12}", 0u64..5, 0u64..3).prop_map(
        |(node_id, node_name, run_index, item_index)| Node {
            node_id,
            node_name,
            run_index,
            item_index,
        },
    )
}

fn event() -> impl Strategy<Value = StreamEvent> {
    prop_oneof![
        4 => "\\PC{1,20}".prop_map(StreamEvent::Text),
        1 => Just(StreamEvent::Error(None)),
        1 => "[a-z ]{1,10}".prop_map(|m| StreamEvent::Error(Some(m))),
        1 => node().prop_map(StreamEvent::Begin),
        1 => node().prop_map(StreamEvent::End),
    ]
}

fn parse(bytes: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
    let mut parser = NdjsonParser::new();
    let mut out = Vec::new();
    let mut last = 0;
    for &cut in cuts {
        let cut = cut.min(bytes.len()).max(last);
        parser.push(&bytes[last..cut], &mut out);
        last = cut;
    }
    parser.push(&bytes[last..], &mut out);
    parser.finish(&mut out);
    out
}

proptest! {
    #[test]
    fn any_split_gives_the_same_events(
        events in proptest::collection::vec(event(), 0..12),
        mut cuts in proptest::collection::vec(0usize..4000, 0..20),
        begin_end in any::<bool>(),
    ) {
        let mut body = String::new();
        for e in &events {
            if begin_end {
                body.push_str("{\"type\":\"begin\",\"metadata\":{}}\n");
            }
            body.push_str(&line_for(e));
            body.push('\n');
            if begin_end {
                body.push_str("{\"type\":\"end\",\"metadata\":{}}\n");
            }
        }
        cuts.sort_unstable();
        let bytes = body.as_bytes();
        prop_assert_eq!(parse(bytes, &[]), events.clone());
        prop_assert_eq!(parse(bytes, &cuts), events);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let _ = parse(&bytes, &[cut]);
    }
}
