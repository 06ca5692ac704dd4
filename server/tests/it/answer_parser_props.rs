//! Property tests for reading n8n's complete answers: no body panics the
//! parser, and the answer text comes out of every shape n8n uses.

use proptest::prelude::*;
use server::responder::n8n::answer::{parse_failure, parse_history, parse_success};

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), status in 100u16..600) {
        let _ = parse_success(&body);
        let _ = parse_history(&body);
        let _ = parse_failure(status, &body);
    }

    #[test]
    fn the_text_comes_out_of_every_shape(
        text in "\\PC{1,40}",
        field in prop_oneof![Just("output"), Just("text"), Just("message")],
    ) {
        let t = json_string(&text);
        for body in [
            format!(r#"{{"{field}":{t}}}"#),
            format!(r#"[{{"{field}":{t}}}]"#),
            format!(r#"[{{"{field}":{t},"other":1}},{{"output":"second"}}]"#),
            t.clone(),
        ] {
            prop_assert_eq!(parse_success(body.as_bytes()).ok(), Some(text.clone()), "body {}", body);
        }
    }

    #[test]
    fn failures_always_say_something(status in 400u16..600, body in "\\PC{0,80}") {
        let error = parse_failure(status, body.as_bytes());
        prop_assert!(!error.to_string().trim().is_empty());
    }
}
