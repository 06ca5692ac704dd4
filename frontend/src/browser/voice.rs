//! Voice in and out (issue 27), with the browser's own machinery: no
//! codec, model or server in the page.
//!
//! In: [`start`] asks for the microphone (only when the button is
//! pressed) and records with `MediaRecorder` — Opus in WebM or Ogg,
//! whichever the browser has; [`Recorder::finish`] makes the recording a
//! `File` that goes through the ordinary upload path, so the relay's
//! bounds and type checks apply to it as to any file.
//! Out: [`speak`] reads a text with `speechSynthesis` in the page's
//! language; [`stop_speaking`] stops it.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AnalyserNode, AudioContext, Blob, BlobEvent, MediaRecorder, MediaStream};

/// Why recording did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user or the browser's settings refused the microphone.
    Denied,
    /// No microphone, or no `MediaRecorder`.
    Unsupported,
}

/// A recording under way.
pub struct Recorder {
    recorder: MediaRecorder,
    stream: MediaStream,
    context: Option<AudioContext>,
    analyser: Option<AnalyserNode>,
    chunks: Rc<RefCell<Vec<Blob>>>,
    _on_data: Closure<dyn FnMut(BlobEvent)>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recorder")
    }
}

/// The container types tried, best first (Chromium and Firefox record
/// Opus in WebM; Safari may offer Ogg or MP4 only).
const TYPES: &[&str] = &[
    "audio/webm;codecs=opus",
    "audio/ogg;codecs=opus",
    "audio/webm",
    "audio/ogg",
];

/// Asks for the microphone and starts recording.
pub async fn start() -> Result<Recorder, Refusal> {
    let window = web_sys::window().ok_or(Refusal::Unsupported)?;
    let devices = window
        .navigator()
        .media_devices()
        .map_err(|_| Refusal::Unsupported)?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_audio(&JsValue::TRUE);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|_| Refusal::Unsupported)?;
    let stream: MediaStream = match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(stream) => stream.unchecked_into(),
        Err(e) => {
            let name = e
                .dyn_ref::<web_sys::DomException>()
                .map(|d| d.name())
                .unwrap_or_default();
            return Err(
                if matches!(name.as_str(), "NotAllowedError" | "SecurityError") {
                    Refusal::Denied
                } else {
                    Refusal::Unsupported
                },
            );
        }
    };
    let options = web_sys::MediaRecorderOptions::new();
    if let Some(mime) = TYPES.iter().find(|t| MediaRecorder::is_type_supported(t)) {
        options.set_mime_type(mime);
    }
    let recorder =
        match MediaRecorder::new_with_media_stream_and_media_recorder_options(&stream, &options) {
            Ok(r) => r,
            Err(_) => {
                stop_tracks(&stream);
                return Err(Refusal::Unsupported);
            }
        };
    let chunks: Rc<RefCell<Vec<Blob>>> = Rc::default();
    let sink = chunks.clone();
    let on_data = Closure::<dyn FnMut(BlobEvent)>::new(move |ev: BlobEvent| {
        if let Some(data) = ev.data().filter(|d| d.size() > 0.0) {
            sink.borrow_mut().push(data);
        }
    });
    recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
    // A chunk a second, so a stop loses at most the last second's wait.
    if recorder.start_with_time_slice(1000).is_err() {
        stop_tracks(&stream);
        return Err(Refusal::Unsupported);
    }
    // The level meter: an analyser on the same stream (optional).
    let context = AudioContext::new().ok();
    let analyser = context.as_ref().and_then(|ctx| {
        let source = ctx.create_media_stream_source(&stream).ok()?;
        let analyser = ctx.create_analyser().ok()?;
        analyser.set_fft_size(256);
        source.connect_with_audio_node(&analyser).ok()?;
        Some(analyser)
    });
    Ok(Recorder {
        recorder,
        stream,
        context,
        analyser,
        chunks,
        _on_data: on_data,
    })
}

fn stop_tracks(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

impl Recorder {
    /// The input level now in percent (the peak of the last few
    /// milliseconds). A whole number: the meter needs no finer steps, and
    /// formatting an `f64` would pull the float printer (~8 KB gzip) into
    /// the page for this one attribute.
    pub fn level(&self) -> u32 {
        let Some(analyser) = &self.analyser else {
            return 0;
        };
        let mut samples = vec![128u8; analyser.fft_size() as usize];
        analyser.get_byte_time_domain_data(&mut samples);
        let peak = samples
            .iter()
            .map(|s| (i32::from(*s) - 128).unsigned_abs())
            .max()
            .unwrap_or(0);
        (peak * 100 / 128).min(100)
    }

    fn release(&self) {
        stop_tracks(&self.stream);
        if let Some(ctx) = &self.context {
            let _ = ctx.close();
        }
    }

    /// Stops and hands the recording to `done` as a file named `name`
    /// (plus the container's extension), once the browser has delivered
    /// its last bytes; `None` when nothing was recorded.
    pub fn finish(self, name: &str, done: impl FnOnce(Option<web_sys::File>) + 'static) {
        let mime = self.recorder.mime_type();
        let base = mime.split(';').next().unwrap_or_default().trim().to_owned();
        let base = if base.is_empty() {
            "audio/webm".to_owned()
        } else {
            base
        };
        let ext = if base.contains("ogg") {
            "ogg"
        } else if base.contains("mp4") {
            "m4a"
        } else {
            "webm"
        };
        let name = format!("{name}.{ext}");
        let chunks = self.chunks.clone();
        let done = RefCell::new(Some(done));
        let keep = Rc::new(RefCell::new(None::<Recorder>));
        let holder = keep.clone();
        let on_stop = Closure::<dyn FnMut()>::new(move || {
            let parts = js_sys::Array::new();
            for chunk in chunks.borrow().iter() {
                parts.push(chunk);
            }
            let options = web_sys::FilePropertyBag::new();
            options.set_type(&base);
            let file = (parts.length() > 0)
                .then(|| {
                    web_sys::File::new_with_blob_sequence_and_options(&parts, &name, &options).ok()
                })
                .flatten();
            if let Some(done) = done.borrow_mut().take() {
                done(file);
            }
            // The recorder (and this closure's owner) can go now.
            holder.borrow_mut().take();
        });
        self.recorder
            .set_onstop(Some(on_stop.as_ref().unchecked_ref()));
        let _ = self.recorder.stop();
        self.release();
        // Kept alive until the stop event has run.
        on_stop.forget();
        *keep.borrow_mut() = Some(self);
    }

    /// Stops and throws the recording away.
    pub fn cancel(self) {
        self.recorder.set_ondataavailable(None);
        let _ = self.recorder.stop();
        self.release();
    }
}

/// Reads `text` aloud in `lang` (a BCP 47 code, the page's language);
/// `ended` runs when it has been read or was stopped. Returns whether the
/// browser can speak at all.
pub fn speak(text: &str, lang: &str, ended: impl FnOnce() + 'static) -> bool {
    let Some(synth) = web_sys::window().and_then(|w| w.speech_synthesis().ok()) else {
        return false;
    };
    let Ok(utterance) = web_sys::SpeechSynthesisUtterance::new_with_text(text) else {
        return false;
    };
    utterance.set_lang(lang);
    let ended = RefCell::new(Some(ended));
    let on_end = Closure::<dyn FnMut()>::new(move || {
        if let Some(ended) = ended.borrow_mut().take() {
            ended();
        }
    });
    utterance.set_onend(Some(on_end.as_ref().unchecked_ref()));
    utterance.set_onerror(Some(on_end.as_ref().unchecked_ref()));
    // One utterance at a time: another answer's reading stops.
    synth.cancel();
    synth.speak(&utterance);
    // Runs once, at the end; a few bytes per reading.
    on_end.forget();
    true
}

/// Stops any reading.
pub fn stop_speaking() {
    if let Some(synth) = web_sys::window().and_then(|w| w.speech_synthesis().ok()) {
        synth.cancel();
    }
}
