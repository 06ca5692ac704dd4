//! The relay's log lines captured in memory, for tests of what is logged
//! (and what never is).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A `tracing` writer that keeps every byte written to it.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Captures this thread's log lines as text, debug level and up, until
    /// the guard is dropped (a one-thread test runtime: the relay's tasks
    /// log here too).
    pub fn text_debug() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .finish();
        (captured, scoped(subscriber))
    }

    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Sets `subscriber` as this thread's until the guard is dropped, so that it
/// sees every line this thread logs.
pub fn scoped(
    subscriber: impl tracing::Subscriber + Send + Sync + 'static,
) -> tracing::subscriber::DefaultGuard {
    keep_a_second_dispatcher();
    tracing::subscriber::set_default(subscriber)
}

/// Keeps one silent dispatcher alive for the whole test binary.
///
/// While only one dispatcher is registered, `tracing` decides whether a log
/// line is wanted by asking the *current thread's* subscriber when the line
/// is first reached — so another test's thread, which has none, reaching
/// `verified identity on` first caches "never" for every thread, and the
/// capture misses it. With two registered, every subscriber alive is asked.
fn keep_a_second_dispatcher() {
    static SILENT: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SILENT.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
