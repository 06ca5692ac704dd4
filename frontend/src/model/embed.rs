//! The page inside another site (`embed.js`): the options that script
//! passes in the iframe's URL, and the commands it may send — each checked
//! here, since they come from another origin.

use serde_json::{Map, Value};

/// The most metadata a host page may add (serialized JSON bytes): it goes
/// into every message's frame, which the relay bounds.
pub const MAX_METADATA_BYTES: usize = 4096;
/// The longest text `send()` takes (the relay refuses longer frames anyway).
pub const MAX_SEND_CHARS: usize = 8000;

/// A command from the host page (`window.n8nChat`).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open the chat.
    Open,
    /// Close it.
    Close,
    /// Open or close it.
    Toggle,
    /// Send a message as the user.
    Send(String),
    /// Merge into the `metadata` n8n receives with each message.
    SetMetadata(Map<String, Value>),
    /// The host's backend signed an identity token for the visitor
    /// (`n8nChat.identify(token)`): the relay checks it and binds the chat
    /// to that user.
    Identify(String),
    /// `n8nChat.forgetMe()`: every conversation of this browser is deleted
    /// here and forgotten by the relay (a visitor's GDPR request).
    ForgetMe,
}

/// The longest identity token the page passes on (the relay's bound).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// `token` if it has a JWT's shape (three base64url parts, the last may be
/// empty, at most [`MAX_TOKEN_BYTES`]); the relay checks the rest.
pub fn identity_token(token: &str) -> Option<String> {
    let token = token.trim();
    let shaped = token.len() <= MAX_TOKEN_BYTES
        && token.split('.').count() == 3
        && !token.starts_with('.')
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    shaped.then(|| token.to_owned())
}

/// The identity token `embed.js` passes with the saved state
/// (`data-user-token`, or an `identify()` made before the chat was ready):
/// the `token` of an `n8n-chat-state` answer, if it is shaped like one.
pub fn host_token(data: &Value) -> Option<String> {
    if data["type"] != "n8n-chat-state" {
        return None;
    }
    identity_token(data["token"].as_str()?)
}

/// Why a command was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a command of ours (other scripts post messages too).
    NotOurs,
    /// Ours, but malformed or too large.
    Invalid(&'static str),
}

impl Command {
    /// Reads `{"type":"n8n-chat-command","command":"send","text":"…"}`.
    pub fn parse(data: &Value) -> Result<Command, Refused> {
        if data["type"] != "n8n-chat-command" {
            return Err(Refused::NotOurs);
        }
        match data["command"].as_str() {
            Some("open") => Ok(Command::Open),
            Some("close") => Ok(Command::Close),
            Some("toggle") => Ok(Command::Toggle),
            Some("send") => {
                let text = data["text"].as_str().unwrap_or_default();
                if text.trim().is_empty() {
                    Err(Refused::Invalid("send() needs a text"))
                } else if text.chars().count() > MAX_SEND_CHARS {
                    Err(Refused::Invalid("send(): the text is too long"))
                } else {
                    Ok(Command::Send(text.to_owned()))
                }
            }
            Some("setMetadata") => match &data["metadata"] {
                Value::Object(map) if data["metadata"].to_string().len() <= MAX_METADATA_BYTES => {
                    Ok(Command::SetMetadata(map.clone()))
                }
                Value::Object(_) => Err(Refused::Invalid("setMetadata(): more than 4 KiB")),
                _ => Err(Refused::Invalid("setMetadata() needs an object")),
            },
            Some("identify") => data["token"]
                .as_str()
                .and_then(identity_token)
                .map(Command::Identify)
                .ok_or(Refused::Invalid(
                    "identify() needs the signed token (a JWT) from your backend",
                )),
            Some("forgetMe") => Ok(Command::ForgetMe),
            _ => Err(Refused::Invalid("unknown command")),
        }
    }
}

/// The host page's origin as `embed.js` passes it (`?host=`), if it has
/// the shape of one: `http(s)://host[:port]`, nothing more. Commands are
/// taken only from this origin, and events (which carry answers) are
/// posted only to it.
pub fn host_origin(param: Option<&str>) -> Option<String> {
    let param = param?.trim();
    let rest = param
        .strip_prefix("https://")
        .or_else(|| param.strip_prefix("http://"))?;
    let ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| param.to_owned())
}

/// Whether the page may act as the embed of `host`: the relay's
/// `--embed-origin` list (`embedOrigins`; empty: any host) names it, and
/// the direct parent is at `host` where the browser says so
/// (`location.ancestorOrigins[0]`; Firefox has no such list, and there
/// `postMessage`'s target origin is what keeps events from another parent).
pub fn embed_allowed(host: &str, listed: &[String], parent_origin: Option<&str>) -> bool {
    (listed.is_empty() || listed.iter().any(|o| o == host))
        && parent_origin.is_none_or(|parent| parent == host)
}

/// The keys the host keeps for the chat, besides a parked conversation's
/// (see [`host_keeps`]; `embed.js` keeps no others).
pub const HOST_KEYS: [&str; 6] = [
    "n8nChat.sessionId",
    "n8nChat.conversation",
    "n8nChat.language",
    "n8nChat.theme",
    // The list of conversations, with the deletions the relay has yet to
    // confirm: without it a reload keeps only the conversation shown.
    "n8nChat.conversations",
    "n8nChat.focusAnswers",
];

/// Before this, the lines of a conversation not shown (its page id after
/// it): one key per parked conversation, here and in the page's own
/// storage (`browser::storage`).
pub const PARKED_PREFIX: &str = "n8nChat.conversation.";

/// The most keys a host's answer is read for: the fixed ones and one per
/// conversation the list may hold.
const MAX_HOST_KEYS: usize = HOST_KEYS.len() + super::conversations::MAX_CONVERSATIONS;

/// Whether the host keeps `key` for the chat: one of [`HOST_KEYS`], or a
/// parked conversation's lines (`n8nChat.conversation.<id>`, the id made
/// of letters, digits and `-`, as the page makes them). `embed.js` applies
/// the same rule.
pub fn host_keeps(key: &str) -> bool {
    HOST_KEYS.contains(&key)
        || key.strip_prefix(PARKED_PREFIX).is_some_and(|id| {
            (1..=64).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The host's answer to the chat's `load` event:
/// `{"type":"n8n-chat-state","state":{key: text, …}}` — `Some(saved)` when
/// the host keeps the chat's state (an empty map on the first visit),
/// `None` when it cannot (`"state":null`: its own storage is refused) —
/// or `Err(NotOurs)` for any other message. Unknown keys and non-text
/// values are left out.
pub fn host_state(
    data: &Value,
) -> Result<Option<std::collections::HashMap<String, String>>, Refused> {
    if data["type"] != "n8n-chat-state" {
        return Err(Refused::NotOurs);
    }
    let Value::Object(state) = &data["state"] else {
        return Ok(None);
    };
    Ok(Some(
        state
            .iter()
            .filter(|(k, _)| host_keeps(k))
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .take(MAX_HOST_KEYS)
            .collect(),
    ))
}

/// A colour for `--chat--color-primary` from `data-primary-color`: a hex
/// colour or a colour name, nothing that could be more than a colour.
pub fn colour(param: Option<&str>) -> Option<String> {
    let c = param?.trim();
    let hex = c.strip_prefix('#').is_some_and(|h| {
        matches!(h.len(), 3 | 4 | 6 | 8) && h.chars().all(|x| x.is_ascii_hexdigit())
    });
    let name = !c.is_empty() && c.len() <= 24 && c.chars().all(|x| x.is_ascii_alphabetic());
    (hex || name).then(|| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_are_read_and_checked() {
        let cmd = |v: Value| Command::parse(&v);
        assert_eq!(
            cmd(json!({"type":"n8n-chat-command","command":"open"})),
            Ok(Command::Open)
        );
        assert_eq!(
            cmd(json!({"type":"n8n-chat-command","command":"send","text":"hi"})),
            Ok(Command::Send("hi".into()))
        );
        assert!(matches!(
            cmd(json!({"type":"n8n-chat-command","command":"setMetadata","metadata":{"userId":"u1"}})),
            Ok(Command::SetMetadata(m)) if m["userId"] == "u1"
        ));
        assert_eq!(cmd(json!({"type":"other"})), Err(Refused::NotOurs));
        assert_eq!(cmd(json!("a string")), Err(Refused::NotOurs));
        assert!(matches!(
            cmd(json!({"type":"n8n-chat-command","command":"send","text":" "})),
            Err(Refused::Invalid(_))
        ));
        assert!(matches!(
            cmd(json!({"type":"n8n-chat-command","command":"setMetadata","metadata":[1]})),
            Err(Refused::Invalid(_))
        ));
        let big = "x".repeat(MAX_METADATA_BYTES);
        assert!(matches!(
            cmd(json!({"type":"n8n-chat-command","command":"setMetadata","metadata":{"a":big}})),
            Err(Refused::Invalid(_))
        ));
        assert!(matches!(
            cmd(json!({"type":"n8n-chat-command","command":"eval"})),
            Err(Refused::Invalid(_))
        ));
    }

    #[test]
    fn identity_tokens_are_taken_only_in_a_jwts_shape() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";
        assert_eq!(
            Command::parse(&json!({"type":"n8n-chat-command","command":"identify","token":jwt})),
            Ok(Command::Identify(jwt.into()))
        );
        for bad in [
            json!(""),
            json!("a.b"),
            json!("a b.c.d"),
            json!(7),
            json!(null),
        ] {
            assert!(matches!(
                Command::parse(
                    &json!({"type":"n8n-chat-command","command":"identify","token":bad})
                ),
                Err(Refused::Invalid(_))
            ));
        }
        let long = format!("{}.b.c", "a".repeat(MAX_TOKEN_BYTES));
        assert_eq!(identity_token(&long), None);
        assert_eq!(
            identity_token("a.b."),
            Some("a.b.".into()),
            "alg none still goes (the relay refuses it)"
        );
        assert_eq!(
            host_token(&json!({"type":"n8n-chat-state","state":{},"token":jwt})),
            Some(jwt.into())
        );
        assert_eq!(
            host_token(&json!({"type":"n8n-chat-state","state":{}})),
            None
        );
        assert_eq!(host_token(&json!({"type":"other","token":jwt})), None);
    }

    #[test]
    fn only_listed_hosts_under_their_own_parent_get_an_embed() {
        let shop = "https://shop.example";
        let list = vec![shop.to_owned()];
        assert!(embed_allowed(shop, &[], None));
        assert!(embed_allowed(shop, &list, Some(shop)));
        assert!(!embed_allowed("https://ad.example", &list, None));
        // An ad inside the shop naming the shop as its host.
        assert!(!embed_allowed(shop, &list, Some("https://ad.example")));
        assert!(!embed_allowed(shop, &[], Some("https://ad.example")));
    }

    #[test]
    fn the_hosts_saved_state_keeps_only_the_chats_keys() {
        let state = host_state(&json!({"type":"n8n-chat-state","state":{
            "n8nChat.sessionId":"s-1","n8nChat.theme":7,"other":"x"}}))
        .expect("ours")
        .expect("kept");
        assert_eq!(state.len(), 1);
        assert_eq!(state["n8nChat.sessionId"], "s-1");
        assert_eq!(
            host_state(&json!({"type":"n8n-chat-state","state":null})),
            Ok(None)
        );
        assert_eq!(
            host_state(&json!({"type":"n8n-chat"})),
            Err(Refused::NotOurs)
        );
    }

    #[test]
    fn the_list_and_every_parked_conversation_are_the_chats_keys_too() {
        let state = host_state(&json!({"type":"n8n-chat-state","state":{
            "n8nChat.conversations":"[]",
            "n8nChat.focusAnswers":"true",
            "n8nChat.conversation.8f14e45f-ceea-467f-a0e6-3f6bb2bd3c4a":"{}",
            "n8nChat.conversation.":"{}",
            "n8nChat.conversation.a/b":"{}",
            "n8nChat.conversationX":"{}"}}))
        .expect("ours")
        .expect("kept");
        let mut keys: Vec<&str> = state.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "n8nChat.conversation.8f14e45f-ceea-467f-a0e6-3f6bb2bd3c4a",
                "n8nChat.conversations",
                "n8nChat.focusAnswers"
            ]
        );
        assert!(!host_keeps(&format!(
            "n8nChat.conversation.{}",
            "a".repeat(65)
        )));
        // At most one parked conversation per place in the list.
        let many: serde_json::Map<String, Value> = (0..100)
            .map(|i| (format!("n8nChat.conversation.c{i}"), json!("{}")))
            .collect();
        let state = host_state(&json!({"type":"n8n-chat-state","state":many}))
            .expect("ours")
            .expect("kept");
        assert_eq!(state.len(), MAX_HOST_KEYS);
    }

    #[test]
    fn only_origins_and_colours_pass() {
        assert_eq!(
            host_origin(Some("https://shop.example")),
            Some("https://shop.example".into())
        );
        assert_eq!(
            host_origin(Some("http://127.0.0.1:8080")),
            Some("http://127.0.0.1:8080".into())
        );
        assert_eq!(host_origin(Some("https://shop.example/path")), None);
        assert_eq!(host_origin(Some("javascript:alert(1)")), None);
        assert_eq!(host_origin(Some("*")), None);
        assert_eq!(host_origin(None), None);
        assert_eq!(colour(Some("#0a7")), Some("#0a7".into()));
        assert_eq!(colour(Some("rebeccapurple")), Some("rebeccapurple".into()));
        assert_eq!(colour(Some("red; background:url(x)")), None);
        assert_eq!(colour(Some("#12345")), None);
    }

    #[test]
    fn forget_me_is_a_command() {
        assert_eq!(
            Command::parse(&json!({"type":"n8n-chat-command","command":"forgetMe"})),
            Ok(Command::ForgetMe)
        );
    }
}
