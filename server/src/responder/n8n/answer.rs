//! Reading the answer out of a (complete) n8n response.
//!
//! n8n answers in many shapes depending on the workflow: a Respond to Webhook
//! node with `{"output": …}`, the last node's items as an array, plain text,
//! or an error JSON with `message` and `hint`. The rules, in order:
//! an object's `output`, else `text`, else `message`; the first element of an
//! array by the same rule; a JSON string as is; a non-JSON body as plain text.

use serde_json::Value;

use crate::responder::ResponderError;

/// Field names tried, in order, for the answer text.
const ANSWER_FIELDS: [&str; 3] = ["output", "text", "message"];

/// The answer in a complete 2xx body, or why there is none.
pub fn parse_success(body: &[u8]) -> Result<String, ResponderError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ResponderError::InvalidResponse(
            "n8n answered with an empty body. This usually means a node failed before the \
             'Respond to Webhook' node ran; check the workflow's executions in n8n."
                .into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => answer_from_json(&value),
        Err(_) => match std::str::from_utf8(body) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(ResponderError::InvalidResponse(
                "n8n answered with bytes that are neither JSON nor UTF-8 text".into(),
            )),
        },
    }
}

/// Like [`parse_success`] for a body whose `Content-Type` says JSON: one
/// that does not parse is an invalid answer, not text to show (a short,
/// escaped piece of it goes to the log, never to the page).
pub fn parse_declared_json(body: &[u8]) -> Result<String, ResponderError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return parse_success(body);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => answer_from_json(&value),
        Err(e) => {
            let snippet: String = String::from_utf8_lossy(body).chars().take(80).collect();
            tracing::warn!(snippet = ?snippet, "n8n's answer says it is JSON but is not: {e}");
            Err(ResponderError::InvalidResponse(
                "n8n said the answer is JSON, but it is not valid JSON (the relay's log shows its beginning)"
                    .into(),
            ))
        }
    }
}

/// The execution id of n8n's answer to a Chat Trigger "Using Response
/// Nodes" — only when the body is *exactly* that answer:
/// `{"executionStarted":true,"executionId":"<digits>"}` and no other key
/// (the bot's words come over n8n's `/chat` socket instead).
///
/// n8n does not check that an execution belongs to the session that opens
/// its socket, so an id the relay follows is a capability. n8n's own answer
/// is made by the trigger before any node runs and has exactly this shape;
/// a body a workflow made (a Set node, an LLM's structured output echoing
/// the user's JSON) that merely resembles it must not be followed: any
/// other key, or an id that is not n8n's decimal one, and it is not this.
pub fn execution_started(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let map = value.as_object()?;
    if map.len() != 2 || map.get("executionStarted") != Some(&Value::Bool(true)) {
        return None;
    }
    let id = match map.get("executionId")? {
        Value::String(id) => id.clone(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return None,
    };
    let decimal = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
    decimal.then_some(id)
}

/// The text of an answer already parsed as JSON.
pub fn answer_from_json(value: &Value) -> Result<String, ResponderError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Object(map) if map.contains_key("executionStarted") && field_text(value).is_none() => {
            Err(ResponderError::InvalidResponse(
                "this Chat Trigger is set to respond 'Using Response Nodes', which answers over n8n's own \
                 chat WebSocket; set its Response Mode to 'When Last Node Finishes' or 'Streaming'"
                    .into(),
            ))
        }
        Value::Object(_) => field_text(value).ok_or_else(|| {
            ResponderError::InvalidResponse(format!(
                "n8n answered with a JSON object without an \"output\", \"text\" or \"message\" field \
                 (fields: {}). Make the last node (or 'Respond to Webhook') return {{\"output\": \"…\"}}.",
                field_names(value)
            ))
        }),
        Value::Array(items) => match items.first() {
            Some(first @ Value::Object(_)) => field_text(first).ok_or_else(|| {
                ResponderError::InvalidResponse(format!(
                    "n8n answered with a list whose first item has no \"output\", \"text\" or \"message\" field (fields: {})",
                    field_names(first)
                ))
            }),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(ResponderError::InvalidResponse(
                "n8n answered with a list whose first item is not an object".into(),
            )),
            None => Err(ResponderError::InvalidResponse(
                "n8n answered with an empty list (the workflow produced no items)".into(),
            )),
        },
        other => Err(ResponderError::InvalidResponse(format!(
            "n8n answered with a bare JSON {} instead of an object",
            json_kind(other)
        ))),
    }
}

fn field_text(object: &Value) -> Option<String> {
    ANSWER_FIELDS.iter().find_map(|key| match object.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    })
}

fn field_names(object: &Value) -> String {
    match object.as_object() {
        Some(map) if !map.is_empty() => map
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".into(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The messages in n8n's answer to `loadPreviousSession`:
/// `{"data":[<LangChain message>…]}`, where each message has its role in
/// `id` (`[…,"HumanMessage"]` or `[…,"AIMessage"]`) and its text in
/// `kwargs.content` (a string, or a list of `{"type":"text","text":…}`
/// parts). Other message kinds (system, tool) are skipped.
pub fn parse_history(body: &[u8]) -> Result<Vec<shared::HistoryMessage>, ResponderError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ResponderError::InvalidResponse("n8n's previous-session answer is not JSON".into())
    })?;
    let Some(items) = value.get("data").and_then(Value::as_array) else {
        return Err(ResponderError::InvalidResponse(
            "n8n's previous-session answer has no \"data\" list".into(),
        ));
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            let kind = item.get("id").and_then(Value::as_array).map(|parts| {
                parts
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(".")
            })?;
            let role = if kind.contains("HumanMessage") {
                shared::Role::User
            } else if kind.contains("AIMessage") {
                shared::Role::Bot
            } else {
                return None;
            };
            let text = match item.get("kwargs")?.get("content")? {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(""),
                _ => return None,
            };
            Some(shared::HistoryMessage {
                role,
                text,
                doc: None,
            })
        })
        .collect())
}

/// The error for a non-2xx answer, with n8n's own `message` and `hint` when
/// the body is n8n's error JSON (e.g. 404 "webhook not registered" with the
/// hint to activate the workflow).
pub fn parse_failure(status: u16, body: &[u8]) -> ResponderError {
    let detail = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let message = v
            .get("message")
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let hint = v.get("hint").and_then(Value::as_str);
        match (message, hint) {
            (Some(m), Some(h)) => Some(format!("{m} {h}")),
            (Some(m), None) => Some(m),
            (None, Some(h)) => Some(h.to_owned()),
            (None, None) => None,
        }
    });
    let detail = detail.or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        (!text.is_empty()).then(|| text.chars().take(200).collect())
    });
    ResponderError::Status { status, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> String {
        match parse_success(body.as_bytes()) {
            Ok(t) => t,
            Err(e) => panic!("{body}: {e}"),
        }
    }

    fn invalid(body: &str) -> String {
        match parse_success(body.as_bytes()) {
            Err(ResponderError::InvalidResponse(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn object_fields_in_order() {
        assert_eq!(ok(r#"{"output":"echo: hi"}"#), "echo: hi");
        assert_eq!(ok(r#"{"text":"t","message":"m"}"#), "t");
        assert_eq!(ok(r#"{"message":"m","other":1}"#), "m");
        assert_eq!(ok(r#"{"output":null,"text":"t"}"#), "t");
        assert_eq!(ok(r#"{"output":{"a":1}}"#), r#"{"a":1}"#);
        assert_eq!(ok(r#"{"output":42}"#), "42");
    }

    #[test]
    fn arrays_use_their_first_item() {
        assert_eq!(ok(r#"[{"output":"first"},{"output":"second"}]"#), "first");
        assert_eq!(ok(r#"["plain"]"#), "plain");
        assert!(invalid("[]").contains("empty list"));
        assert!(invalid("[1]").contains("not an object"));
    }

    #[test]
    fn plain_text_and_json_strings() {
        assert_eq!(ok("Hello there"), "Hello there");
        assert_eq!(ok(r#""a json string""#), "a json string");
    }

    #[test]
    fn empty_and_useless_bodies_are_errors() {
        assert!(invalid("").contains("empty body"));
        assert!(invalid(" \r\n").contains("empty body"));
        assert!(invalid(r#"{"executionStarted":true,"executionId":"6"}"#)
            .contains("Using Response Nodes"));
        assert!(invalid("true").contains("boolean"));
        assert!(invalid("null").contains("null"));
        assert!(matches!(
            parse_success(&[0xff, 0xfe, 0x00]),
            Err(ResponderError::InvalidResponse(_))
        ));
    }

    #[test]
    fn a_started_execution_is_recognised() {
        assert_eq!(
            execution_started(br#"{"executionStarted":true,"executionId":"11"}"#),
            Some("11".into())
        );
        assert_eq!(
            execution_started(br#"{"executionStarted":true,"executionId":12}"#),
            Some("12".into())
        );
        assert_eq!(
            execution_started(br#"{"executionStarted":false,"executionId":"1"}"#),
            None
        );
        assert_eq!(execution_started(br#"{"output":"x"}"#), None);
        assert_eq!(execution_started(b"not json"), None);
    }

    #[test]
    fn only_n8ns_exact_shape_is_an_execution_start() {
        // A workflow's own JSON that resembles n8n's answer is not one.
        for forged in [
            &br#"{"executionStarted":true,"executionId":"11","output":"hi"}"#[..],
            br#"{"executionStarted":true,"executionId":"11","sessionId":"x"}"#,
            br#"[{"executionStarted":true,"executionId":"11"}]"#,
            br#"{"executionStarted":true,"executionId":"11&sessionId=x"}"#,
            br#"{"executionStarted":true,"executionId":"../11"}"#,
            br#"{"executionStarted":true,"executionId":""}"#,
            br#"{"executionStarted":true,"executionId":-3}"#,
            br#"{"executionStarted":true,"executionId":1.5}"#,
            br#"{"executionStarted":"true","executionId":"11"}"#,
            br#"{"executionStarted":true}"#,
        ] {
            assert_eq!(
                execution_started(forged),
                None,
                "{}",
                String::from_utf8_lossy(forged)
            );
        }
    }

    #[test]
    fn a_body_declared_json_must_be_json() {
        assert_eq!(
            parse_declared_json(br#"{"output":"ok"}"#),
            Ok("ok".to_owned())
        );
        let e =
            parse_declared_json(b"{\"output\": <script>alert(1)</script>").expect_err("not JSON");
        assert!(matches!(e, ResponderError::InvalidResponse(_)), "{e:?}");
        assert!(
            !e.to_string().contains("script"),
            "no body in the page: {e}"
        );
        assert!(matches!(
            parse_declared_json(b""),
            Err(ResponderError::InvalidResponse(_))
        ));
        // Undeclared, plain text is still an answer.
        assert_eq!(parse_success(b"{not json"), Ok("{not json".to_owned()));
    }

    #[test]
    fn previous_sessions_in_langchain_format() {
        assert_eq!(parse_history(br#"{"data":[]}"#), Ok(vec![]));
        let body = br#"{"data":[
            {"lc":1,"type":"constructor","id":["langchain_core","messages","HumanMessage"],"kwargs":{"content":"hi","additional_kwargs":{}}},
            {"lc":1,"type":"constructor","id":["langchain_core","messages","SystemMessage"],"kwargs":{"content":"be nice"}},
            {"lc":1,"type":"constructor","id":["langchain_core","messages","AIMessage"],"kwargs":{"content":[{"type":"text","text":"hel"},{"type":"text","text":"lo"}]}}
        ]}"#;
        let history = parse_history(body).expect("history");
        assert_eq!(
            history,
            vec![
                shared::HistoryMessage {
                    role: shared::Role::User,
                    text: "hi".into(),
                    doc: None,
                },
                shared::HistoryMessage {
                    role: shared::Role::Bot,
                    text: "hello".into(),
                    doc: None,
                },
            ]
        );
        assert!(parse_history(b"nope").is_err());
        assert!(parse_history(br#"{"output":"x"}"#).is_err());
    }

    #[test]
    fn n8n_error_bodies_give_their_message_and_hint() {
        let body = br#"{"code":404,"message":"The requested webhook \"POST nope\" is not registered.","hint":"The workflow must be active for a production URL to run successfully.","stacktrace":"..."}"#;
        let ResponderError::Status {
            status,
            detail: Some(detail),
        } = parse_failure(404, body)
        else {
            panic!("no detail");
        };
        assert_eq!(status, 404);
        assert!(
            detail.contains("is not registered") && detail.contains("must be active"),
            "{detail}"
        );
        assert!(!detail.contains("stacktrace"));

        let e = parse_failure(500, br#"{"message":"Error in workflow"}"#);
        assert_eq!(e.to_string(), "n8n answered HTTP 500: Error in workflow");
        let e = parse_failure(500, br#"{"error":"deliberate failure [line 2]"}"#);
        assert_eq!(
            e.to_string(),
            "n8n answered HTTP 500: deliberate failure [line 2]"
        );
        let e = parse_failure(502, b"");
        assert_eq!(e.to_string(), "n8n answered HTTP 502");
        let e = parse_failure(502, b"<html>Bad Gateway</html>");
        assert_eq!(
            e.to_string(),
            "n8n answered HTTP 502: <html>Bad Gateway</html>"
        );
    }
}
