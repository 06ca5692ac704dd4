//! The optional unread sound (`embed.js` `data-sound="on"`, `?sound=1`;
//! off by default): a short, quiet tone from Web Audio — no audio file to
//! load. Browsers allow it only after the user has interacted with the
//! page; before that it stays silent.

use std::cell::RefCell;

thread_local! {
    static CONTEXT: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
}

/// Plays the tone once; counts it on the root element (`data-beeps`) so
/// tests can see it happened.
pub fn beep() {
    CONTEXT.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = web_sys::AudioContext::new().ok();
        }
        let Some(ctx) = cell.as_ref() else { return };
        let _ = ctx.resume();
        let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
            return;
        };
        let now = ctx.current_time();
        osc.frequency().set_value(880.0);
        gain.gain().set_value(0.05);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.0, now + 0.15);
        let _ = osc.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&ctx.destination());
        let _ = osc.start();
        let _ = osc.stop_with_when(now + 0.16);
    });
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let n = root
            .get_attribute("data-beeps")
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0);
        let _ = root.set_attribute("data-beeps", &(n + 1).to_string());
    }
}
