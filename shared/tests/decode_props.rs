//! Property tests for the frame decoders: nothing a peer sends makes them
//! panic, and every valid frame survives encode → decode unchanged. The
//! fuzz targets in `fuzz/` check the same with coverage guidance.

use proptest::prelude::*;
use shared::{ClientMessage, DecodeError, ServerMessage};

fn message() -> impl Strategy<Value = ClientMessage> {
    (
        "[A-Za-z0-9_-]{1,64}",
        "\\PC*[^\\s]\\PC*",
        proptest::option::of(proptest::collection::btree_map(
            "[a-z]{1,8}",
            "\\PC{0,16}",
            0..4,
        )),
        any::<bool>(),
    )
        .prop_map(|(id, text, metadata, retry)| ClientMessage::Message {
            id,
            text,
            metadata: metadata.map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect()
            }),
            retry,
            regenerate: false,
            files: Vec::new(),
        })
}

proptest! {
    #[test]
    fn valid_messages_round_trip(msg in message()) {
        prop_assert_eq!(ClientMessage::decode(&msg.encode()), Ok(msg));
    }

    #[test]
    fn pings_round_trip(ts in proptest::option::of(any::<u64>())) {
        let msg = ClientMessage::Ping { ts: ts.map(serde_json::Number::from) };
        prop_assert_eq!(ClientMessage::decode(&msg.encode()), Ok(msg));
    }

    #[test]
    fn any_text_decodes_or_errs_without_panic(text in "\\PC{0,200}") {
        let _ = ClientMessage::decode(&text);
        let _ = ServerMessage::decode(&text);
    }

    #[test]
    fn json_shaped_noise_never_panics(
        kind in prop_oneof![
            Just("message".to_owned()),
            Just("ping".to_owned()),
            Just("response".to_owned()),
            Just("error".to_owned()),
            "[a-z]{0,8}",
        ],
        id in prop_oneof![Just("null".to_owned()), Just("1".to_owned()), "\"\\PC{0,70}\""],
        text in prop_oneof![Just("null".to_owned()), Just("[]".to_owned()), "\"\\PC{0,20}\""],
    ) {
        let frame = format!(r#"{{"type":"{kind}","id":{id},"text":{text},"code":{text}}}"#);
        let _ = ClientMessage::decode(&frame);
        let _ = ServerMessage::decode(&frame);
    }

    #[test]
    fn ids_longer_than_64_are_refused(id in "[a-z]{65,100}") {
        let frame = format!(r#"{{"type":"message","id":"{id}","text":"hi"}}"#);
        prop_assert_eq!(ClientMessage::decode(&frame), Err(DecodeError::BadId));
    }
}
