//! The one WebSocket, through gloo-net.
//!
//! A [`Socket`] owns the connection; a task reads its frames and reports
//! them, and its close, to the callbacks given at [`Socket::open`].
//! Dropping a [`Socket`] closes the connection and silences its task, so an
//! old socket can never report events into a newer connection (no duplicate
//! sockets, no stale close tearing down a fresh link).
//!
//! A socket may have a first frame (the session handshake, `hello`): it is
//! sent as soon as the socket opens, and nothing else is sent before it —
//! the relay reads the session from it, so the session id (a credential)
//! never travels in the URL.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use futures_util::{Sink, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State};

/// The socket, shared by its reading task and the writers; `None` once it
/// closed or was dropped, so both then find nothing instead of a dead socket.
type SocketCell = Rc<RefCell<Option<Pin<Box<WebSocket>>>>>;

/// An open (or opening) WebSocket.
pub struct Socket {
    ws: SocketCell,
    /// The first frame has gone out (or there is none): others may follow.
    greeted: Rc<Cell<bool>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl Socket {
    /// Opens `url` and sends `first` (if any) as soon as it is open.
    /// `on_text` gets every text frame; `on_close` is called once when the
    /// connection closes or fails (not after a drop).
    pub fn open(
        url: &str,
        first: Option<String>,
        mut on_text: impl FnMut(String) + 'static,
        on_close: impl FnOnce() + 'static,
    ) -> Result<Socket, String> {
        let ws = WebSocket::open(url).map_err(|e| e.to_string())?;
        let ws: SocketCell = Rc::new(RefCell::new(Some(Box::pin(ws))));
        let greeted = Rc::new(Cell::new(first.is_none()));
        let reading = Rc::clone(&ws);
        let greeting = Rc::clone(&greeted);
        leptos::task::spawn_local(async move {
            if let Some(first) = first {
                // Ready once the socket is open (or has failed: then the
                // send fails and the read below reports the close).
                let sent =
                    futures_util::future::poll_fn(|cx| match reading.borrow_mut().as_mut() {
                        Some(ws) => match ws.as_mut().poll_ready(cx) {
                            Poll::Ready(Ok(())) => Poll::Ready(Some(
                                ws.as_mut().start_send(Message::Text(first.clone())).is_ok(),
                            )),
                            Poll::Ready(Err(_)) => Poll::Ready(Some(false)),
                            Poll::Pending => Poll::Pending,
                        },
                        None => Poll::Ready(None),
                    })
                    .await;
                match sent {
                    // Dropped on purpose: say nothing.
                    None => return,
                    Some(sent) => greeting.set(sent),
                }
            }
            loop {
                // The socket is borrowed only inside a poll, never across an
                // await: sending and dropping stay possible meanwhile.
                let next =
                    futures_util::future::poll_fn(|cx| match reading.borrow_mut().as_mut() {
                        Some(ws) => ws.poll_next_unpin(cx).map(Some),
                        None => Poll::Ready(None),
                    })
                    .await;
                match next {
                    // Dropped on purpose: say nothing.
                    None => return,
                    Some(Some(Ok(Message::Text(text)))) => on_text(text),
                    Some(Some(Ok(Message::Bytes(_)))) => {}
                    // Closed or failed (an error is followed by the close).
                    Some(Some(Err(_)) | None) => break,
                }
            }
            let still_ours = reading.borrow_mut().take().is_some();
            if still_ours {
                on_close();
            }
        });
        Ok(Socket { ws, greeted })
    }

    /// Sends a text frame if the socket is open (and its first frame has
    /// gone out); false otherwise.
    pub fn send(&self, text: &str) -> bool {
        if !self.greeted.get() {
            return false;
        }
        let mut ws = self.ws.borrow_mut();
        let Some(ws) = ws.as_mut() else {
            return false;
        };
        if !matches!(ws.state(), State::Open) {
            return false;
        }
        // Open: gloo-net's sink is always ready and writes at once.
        ws.as_mut()
            .start_send(Message::Text(text.to_owned()))
            .is_ok()
    }

    /// The browser's `readyState` (0 connecting, 1 open, 2 closing, 3 closed).
    pub fn ready_state(&self) -> u16 {
        match self.ws.borrow().as_ref().map(|ws| ws.state()) {
            Some(State::Connecting) => 0,
            Some(State::Open) => 1,
            Some(State::Closing) => 2,
            Some(State::Closed) | None => 3,
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Dropping gloo-net's socket closes it; the reading task sees it gone
        // and ends without reporting.
        self.ws.borrow_mut().take();
    }
}
