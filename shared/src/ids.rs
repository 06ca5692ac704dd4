//! A session id and a message id as types: checked once, where they come
//! in ([`crate::validate`]'s rules), and never mixed up afterwards — a
//! function that takes both cannot be called with them swapped.
//!
//! Both dereference to `str`, so code that only reads one (a log line, a
//! storage key, a map look-up through `Borrow<str>`) needs no change.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use crate::validate::{is_valid_message_id, is_valid_session_id};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $valid:path, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// `id` as this type, if it is a valid one.
            pub fn parse(id: &str) -> Option<Self> {
                $valid(id).then(|| $name(id.to_owned()))
            }

            /// `id` as this type, if it is a valid one (no copy).
            pub fn from_string(id: String) -> Option<Self> {
                $valid(&id).then_some($name(id))
            }

            /// A literal known to be valid (tests, constants).
            ///
            /// # Panics
            /// If `id` is not valid: a mistake in the program, not input.
            #[track_caller]
            pub fn from_static(id: &'static str) -> Self {
                match Self::parse(id) {
                    Some(valid) => valid,
                    None => panic!(concat!("not a valid ", $what, ": {:?}"), id),
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned `String`.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<$name> for serde_json::Value {
            fn from(id: $name) -> serde_json::Value {
                serde_json::Value::String(id.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A session id: 1..=128 characters of `[A-Za-z0-9_-]`.
    SessionId,
    is_valid_session_id,
    "session id"
);

id_type!(
    /// A message id: 1..=64 characters of `[A-Za-z0-9_-]`.
    MessageId,
    is_valid_message_id,
    "message id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_valid_ids_become_ids() {
        assert_eq!(SessionId::parse("s-1").as_deref(), Some("s-1"));
        assert!(SessionId::parse("").is_none());
        assert!(SessionId::parse("a\nb").is_none());
        assert!(SessionId::parse(&"x".repeat(129)).is_none());
        assert!(MessageId::parse(&"x".repeat(64)).is_some());
        assert!(MessageId::parse(&"x".repeat(65)).is_none());
        assert!(MessageId::from_string("a b".into()).is_none());
    }

    #[test]
    fn an_id_reads_as_its_text() {
        let id = MessageId::from_static("m1");
        assert_eq!(id, "m1");
        assert_eq!(id.to_string(), "m1");
        assert_eq!(format!("{id:?}"), "\"m1\"");
        let map: std::collections::HashMap<SessionId, u8> =
            [(SessionId::from_static("s"), 1)].into_iter().collect();
        assert_eq!(map.get("s"), Some(&1));
    }

    #[test]
    #[should_panic(expected = "not a valid session id")]
    fn an_invalid_literal_is_a_bug() {
        let _ = SessionId::from_static("no spaces");
    }
}
