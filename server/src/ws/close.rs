//! How a connection ends: the close codes the relay uses, and the reading
//! of a socket error into one of them.

/// Close codes the relay uses.
pub mod close_code {
    /// Normal closure (idle timeout).
    pub const NORMAL: u16 = 1000;
    /// Going away: the relay is shutting down; reconnect at once.
    pub const GOING_AWAY: u16 = 1001;
    /// Invalid payload: a text frame that is not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation: the client did not read its frames.
    pub const POLICY: u16 = 1008;
    /// Message too big: a frame far above `--max-message-bytes`.
    pub const TOO_BIG: u16 = 1009;
    /// Try again later: too many new sessions from this address.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// Why a connection is closed for not reading.
pub const NOT_READING: &str = "client is not reading its messages";

/// Why a connection's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
    /// The client is gone (closed, errored); nothing to send.
    Gone,
}

/// How to end after a read error: an oversized frame gets 1009 ("message
/// too big"), invalid UTF-8 in a text frame 1007, anything else just ends.
pub fn after_read_error(conn_id: u64, error: &str) -> End {
    tracing::debug!(conn = conn_id, "read error: {error}");
    if error.contains("Message too long") || error.contains("Space limit exceeded") {
        End::Close(close_code::TOO_BIG, "message too big")
    } else if error.contains("UTF-8") || error.contains("utf-8") {
        End::Close(close_code::INVALID_PAYLOAD, "text frames must be UTF-8")
    } else {
        End::Gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_errors_map_to_close_codes() {
        assert_eq!(
            after_read_error(1, "Space limit exceeded: Message too long: 9 > 8"),
            End::Close(close_code::TOO_BIG, "message too big")
        );
        assert_eq!(
            after_read_error(1, "Could not decode: invalid UTF-8"),
            End::Close(close_code::INVALID_PAYLOAD, "text frames must be UTF-8")
        );
        assert_eq!(after_read_error(1, "Connection reset"), End::Gone);
    }
}
