//! Voice in and out (issue 27): the microphone button beside the attach
//! button (`--allow-voice`), and "Read aloud" under answers.

use gloo_timers::callback::Interval;
use leptos::prelude::*;
use shared::rich_text::Doc;

use crate::browser::voice::{self, Recorder, Refusal};
use crate::controller::Screen;
use crate::model::speech::spoken_text;

/// The microphone: a press starts recording (the browser asks for the
/// microphone then, not before), shows the level and the time, and a
/// second press stops and attaches the recording to the draft, which is
/// sent like any file. The cancel button throws it away; at
/// `maxVoiceSeconds` it stops by itself. A refusal is explained in the
/// composer's notice.
#[component]
pub fn MicButton(
    view: Screen,
    attach: impl Fn(Vec<web_sys::File>) + Copy + Send + Sync + 'static,
    blocked: Signal<bool>,
) -> impl IntoView {
    let recorder = StoredValue::new_local(None::<Recorder>);
    let ticker = StoredValue::new_local(None::<Interval>);
    let recording = RwSignal::new(false);
    let starting = RwSignal::new(false);
    let seconds = RwSignal::new(0u32);
    let level = RwSignal::new(0u32);
    let max = move || view.config.with(|c| c.max_voice_seconds);
    let stop = move |keep: bool| {
        // Not from inside the ticker's own callback (see below).
        ticker.set_value(None);
        recording.set(false);
        let Some(rec) = recorder.try_update_value(Option::take).flatten() else {
            return;
        };
        if keep {
            rec.finish("voice-message", move |file| {
                if let Some(file) = file {
                    attach(vec![file]);
                }
            });
        } else {
            rec.cancel();
        }
    };
    let begin = move || {
        view.attach_error.set(None);
        starting.set(true);
        leptos::task::spawn_local(async move {
            let started = voice::start().await;
            starting.set(false);
            match started {
                Ok(rec) => {
                    recorder.set_value(Some(rec));
                    seconds.set(0);
                    recording.set(true);
                    let at = js_sys::Date::now();
                    let tick = Interval::new(100, move || {
                        let elapsed = ((js_sys::Date::now() - at) / 1000.0) as u32;
                        seconds.set(elapsed);
                        recorder.with_value(|r| {
                            if let Some(r) = r {
                                level.set(r.level());
                            }
                        });
                        if elapsed >= max() {
                            // Dropping the interval inside its own
                            // callback is not allowed: stop right after.
                            leptos::task::spawn_local(async move { stop(true) });
                        }
                    });
                    ticker.set_value(Some(tick));
                }
                Err(refusal) => {
                    let lang = view.texts.get_untracked();
                    let sentence = match refusal {
                        Refusal::Denied => lang.mic_refused(),
                        Refusal::Unsupported => lang.mic_unsupported(),
                    };
                    view.attach_error.set(Some(sentence));
                }
            }
        });
    };
    let label = move || {
        let lang = view.texts.get();
        if recording.get() {
            lang.stop_recording()
        } else {
            lang.record_voice()
        }
    };
    let cancel_label = move || view.texts.get().cancel_recording();
    let time = move || {
        let s = seconds.get();
        format!("{}:{:02}", s / 60, s % 60)
    };
    let shown = move || max() > 0 && view.config.with(|c| c.uploads.is_some());
    view! {
        <Show when=shown>
            <button type="button" class="mic-button" data-testid="mic"
                aria-pressed=move || recording.get().to_string()
                aria-label=label title=label
                disabled=move || blocked.get() || starting.get()
                on:click=move |_| if recording.get_untracked() { stop(true) } else { begin() }>
                <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                    <path d="M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21"
                        fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
                </svg>
            </button>
            <Show when=move || recording.get()>
                <span class="recording" data-testid="recording">
                    <meter class="mic-level" min="0" max="100" value=move || level.get()
                        aria-hidden="true"></meter>
                    <span class="recording-time" data-testid="recording-time">{time}</span>
                    <button type="button" class="mic-cancel" data-testid="mic-cancel"
                        aria-label=cancel_label title=cancel_label on:click=move |_| stop(false)>
                        "×"
                    </button>
                </span>
            </Show>
        </Show>
    }
}

/// "Read aloud" under an answer: the browser's speech synthesis in the
/// page's language (no server cost); a second press stops. Not shown
/// where the browser cannot speak.
#[component]
pub fn ReadAloud(text: String, doc: Option<Doc>, view: Screen) -> impl IntoView {
    let can_speak = web_sys::window()
        .and_then(|w| w.speech_synthesis().ok())
        .is_some();
    let reading = RwSignal::new(false);
    let spoken = spoken_text(&text, doc.as_ref());
    let toggle = move |_| {
        if reading.get_untracked() {
            voice::stop_speaking();
            reading.set(false);
        } else if voice::speak(
            &spoken,
            view.texts.get_untracked().lang().code(),
            move || {
                let _ = reading.try_set(false);
            },
        ) {
            reading.set(true);
        }
    };
    let label = move || {
        let lang = view.texts.get();
        if reading.get() {
            lang.stop_reading()
        } else {
            lang.read_aloud()
        }
    };
    can_speak.then(|| {
        view! {
            <button type="button" class="read-aloud" data-testid="read-aloud"
                aria-pressed=move || reading.get().to_string()
                title=label on:click=toggle>
                {label}
            </button>
        }
    })
}
