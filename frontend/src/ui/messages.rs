//! The conversation: welcome lines, user messages with their delivery
//! state, bot answers formatted (the relay's tree) with copy buttons, errors with retry.

use std::time::Duration;

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::attachments::SentAttachments;
use super::progress::{AnswerTools, CurrentStep, StepsFold};
use super::voice::ReadAloud;
use crate::browser::page::{exact_time, local};
use crate::browser::{clipboard, rich_text};
use crate::controller::Screen;
use crate::model::conversation::{Delivery, ErrorLine, Kind, Line, Role, RunMessage};
use crate::model::time::when;
use shared::rich_text::Doc;
use shared::{ErrorCode, QuotaKind, Rating};

/// How long "Copied" shows on a copy button.
const COPIED_FOR: Duration = Duration::from_millis(1500);

/// A copy button's click inside rendered markdown: copy its code block.
fn on_list_click(ev: web_sys::MouseEvent, copied: String, copy: String) {
    let Some(button) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest(".copy-code").ok().flatten())
    else {
        return;
    };
    let code = button
        .parent_element()
        .and_then(|block| block.query_selector("code").ok().flatten())
        .and_then(|code| code.text_content())
        .unwrap_or_default();
    clipboard::copy(code, move |ok| {
        if ok {
            button.set_text_content(Some(&copied));
            set_timeout(move || button.set_text_content(Some(&copy)), COPIED_FOR);
        }
    });
}

/// The conversation.
#[component]
pub fn MessageList(
    view: Screen,
    retry: impl Fn(String) + Copy + Send + Sync + 'static,
    choose: impl Fn(String, u32, u32) + Copy + Send + Sync + 'static,
    stop: impl Fn(String) + Copy + Send + Sync + 'static,
    rate: impl Fn(String, Rating) + Copy + Send + Sync + 'static,
    regenerate: impl Fn(String) + Copy + Send + Sync + 'static,
    switch: impl Fn(String, bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let list = NodeRef::<html::Ul>::new();
    // Follow the newest message — unless the user scrolled up to read:
    // then a button offers to jump down, and nothing moves under them.
    let at_bottom = StoredValue::new(true);
    let (unseen, set_unseen) = signal(false);
    // Lines seen so far: the user's own message scrolls down when it is
    // added, not on every later change while it is the last line (its
    // state, the waiting time, progress) — those would pull a reader who
    // scrolled up back down.
    let seen = StoredValue::new(0usize);
    Effect::new(move |_| {
        let (len, user_last) = view.conversation.with(|c| {
            let last = c.lines.last().is_some_and(|l| l.user().is_some());
            (c.lines.len(), last)
        });
        let mine = user_last && len > seen.get_value();
        seen.set_value(len);
        let Some(ul) = list.get_untracked() else {
            return;
        };
        if at_bottom.get_value() || mine {
            ul.set_scroll_top(ul.scroll_height());
            set_unseen.set(false);
        } else {
            set_unseen.set(true);
        }
    });
    let on_scroll = move |_| {
        if let Some(ul) = list.get_untracked() {
            let bottom = ul.scroll_height() - ul.scroll_top() - ul.client_height() < 48;
            at_bottom.set_value(bottom);
            if bottom {
                set_unseen.set(false);
            }
        }
    };
    let jump = move |_| {
        if let Some(ul) = list.get_untracked() {
            ul.set_scroll_top(ul.scroll_height());
        }
        at_bottom.set_value(true);
        set_unseen.set(false);
    };
    let lang = view.texts;
    let welcome = move || {
        let lang = lang.get();
        let (configured, mut docs) = view
            .config
            .with(|c| (c.welcome.clone(), c.welcome_docs.clone()));
        let lines = if configured.is_empty() {
            vec![lang.welcome().to_owned()]
        } else {
            configured
        };
        docs.resize(lines.len(), Vec::new());
        lines
            .into_iter()
            .zip(docs)
            .map(|(text, doc)| {
                // A relay that did not format the line sends no tree.
                let doc = (!doc.is_empty()).then_some(doc);
                view! {
                    <li class="message bot welcome" data-testid="welcome">
                        <Formatted text=text doc=doc view=view />
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <div class="messages-wrap">
        <ul class="messages" data-testid="messages"
            on:scroll=on_scroll
            data-waiting=move || view.conversation.with(|c| c.waiting.is_some()).to_string()
            aria-label=move || lang.get().messages_label() node_ref=list
            on:click=move |ev| {
                let lang = lang.get_untracked();
                on_list_click(ev, lang.copied(), lang.copy())
            }>
            <Show when=move || view.conversation.with(|c| c.lines.is_empty())>{welcome}</Show>
            <For
                each=move || view.conversation.with(|c| c.lines.clone())
                key=render_key
                let:line
            >
                <Message line=line view=view retry=retry choose=choose stop=stop rate=rate
                    regenerate=regenerate switch=switch />
            </For>
        </ul>
        <Show when=move || unseen.get()>
            <button type="button" class="jump-latest" data-testid="jump-latest" on:click=jump>
                {move || lang.get().jump_latest()}
            </button>
        </Show>
        </div>
    }
}

/// What re-renders a line when it changes: its id, role and text, and
/// what the page shows of its state (a user message's delivery; a bot
/// line's formatting, streaming, run message, pressed button and rating;
/// an error's code, and for a refusal its quota and when it resets — the
/// sentence shown is made from these, not from the relay's text).
/// The rest is read live (progress, the waiting time) or never changes.
type RenderKey = (
    String,
    Role,
    Option<Delivery>,
    String,
    bool,
    bool,
    Option<u32>,
    Option<u32>,
    Option<Rating>,
    Option<(ErrorCode, Option<QuotaKind>, Option<u64>)>,
);

/// See [`RenderKey`].
fn render_key(line: &Line) -> RenderKey {
    let bot = line.bot();
    let run = bot.and_then(|b| b.run.as_ref());
    (
        line.id.clone(),
        line.role(),
        line.user().map(|u| u.delivery),
        line.text.clone(),
        bot.is_some_and(|b| b.doc.is_some()),
        bot.is_some_and(|b| b.streaming),
        run.map(|r| r.seq),
        run.and_then(|r| r.chosen),
        bot.and_then(|b| b.rating),
        line.error().map(|e| (e.code, e.quota, e.resets_at)),
    )
}

/// 👍 / 👎 under an answer (when the deployment collects ratings): one
/// choice, changeable, the same again takes it back.
#[component]
fn Rate(
    id: String,
    rating: Option<Rating>,
    view: Screen,
    rate: impl Fn(String, Rating) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = view.texts;
    let button = move |kind: Rating, testid: &'static str, glyph: &'static str| {
        let id = id.clone();
        let up = kind == Rating::Up;
        view! {
            <button type="button" class="rate" data-testid=testid
                aria-pressed=(rating == Some(kind)).to_string()
                aria-label=move || lang.get().rating(up) title=move || lang.get().rating(up)
                on:click=move |_| rate(id.clone(), kind)>
                <span aria-hidden="true">{glyph}</span>
            </button>
        }
    };
    view! {
        <Show when=move || view.config.with(|c| c.feedback)>
            <span class="rating" role="group">
                {button(Rating::Up, "rate-up", "👍")}
                {button(Rating::Down, "rate-down", "👎")}
            </span>
        </Show>
    }
}

/// A bot text: the relay's formatted tree, or plain text without one
/// (while streaming, or from a relay that does not format).
#[component]
fn Formatted(text: String, doc: Option<Doc>, view: Screen) -> impl IntoView {
    let Some(doc) = doc else {
        return view! { <div class="bubble markdown plain" dir="auto">{text}</div> }.into_any();
    };
    let lang = view.texts;
    let bubble = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        let copy = lang.get().copy();
        if let Some(div) = bubble.get() {
            rich_text::fill(&div, &doc, &copy);
        }
    });
    view! { <div class="bubble markdown" dir="auto" node_ref=bubble></div> }.into_any()
}

/// A bot answer, formatted, with a button that copies its text.
#[component]
fn BotBubble(text: String, doc: Option<Doc>, view: Screen) -> impl IntoView {
    let lang = view.texts;
    let (copied, set_copied) = signal(false);
    let shown = text.clone();
    let (spoken, spoken_doc) = (text.clone(), doc.clone());
    let copy = move |_| {
        clipboard::copy(text.clone(), move |ok| {
            if ok && set_copied.try_set(true).is_none() {
                set_timeout(
                    move || {
                        let _ = set_copied.try_set(false);
                    },
                    COPIED_FOR,
                );
            }
        })
    };
    let label = move || {
        if copied.get() {
            lang.get().copied()
        } else {
            lang.get().copy()
        }
    };
    view! {
        <Formatted text=shown doc=doc view=view />
        <button type="button" class="copy-message" data-testid="copy-message"
            data-copied=move || copied.get().to_string() on:click=copy>
            {label}
        </button>
        <ReadAloud text=spoken doc=spoken_doc view=view />
    }
}

/// One line of the conversation.
#[component]
fn Message(
    line: Line,
    view: Screen,
    retry: impl Fn(String) + Copy + Send + Sync + 'static,
    choose: impl Fn(String, u32, u32) + Copy + Send + Sync + 'static,
    stop: impl Fn(String) + Copy + Send + Sync + 'static,
    rate: impl Fn(String, Rating) + Copy + Send + Sync + 'static,
    regenerate: impl Fn(String) + Copy + Send + Sync + 'static,
    switch: impl Fn(String, bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = view.texts;
    let streaming = line.bot().is_some_and(|b| b.streaming);
    let class = format!(
        "message {}{}",
        line.role().name(),
        if streaming { " streaming" } else { "" }
    );
    let note = match line.user().map(|u| (u.delivery, u.sent_at)) {
        Some((Delivery::Queued, _)) => {
            // Queued until the relay has every byte of its files.
            let id = line.id.clone();
            let text = move || {
                let percent = view.progress.with(|p| {
                    p.as_ref()
                        .filter(|(at, _)| *at == id)
                        .map(|(_, percent)| *percent)
                });
                match percent {
                    Some(percent) => lang.get().uploading(percent),
                    // Kept for the resume, not for the link.
                    None if view.paused.get() => lang.get().queued_paused().to_owned(),
                    None => lang.get().queued().to_owned(),
                }
            };
            Some(view! { <div class="note queued" data-testid="queued">{text}</div> }.into_any())
        }
        Some((Delivery::Sent, sent_at)) => {
            let elapsed = move || {
                let secs = sent_at.map_or(0.0, |at| (view.now.get() - at as f64).max(0.0) / 1000.0);
                lang.get().waiting(secs as u64)
            };
            // While its run waits for the user, nobody waits for an answer.
            let id = line.id.clone();
            let run_waits = move || {
                view.conversation
                    .with(|c| c.waiting.as_deref() == Some(id.as_str()))
            };
            let stop_id = line.id.clone();
            let step_id = line.id.clone();
            Some(
                view! {
                    <Show when=move || !run_waits()>
                        <div class="note waiting" data-testid="waiting">
                            <span class="typing" aria-hidden="true"><i></i><i></i><i></i></span>
                            <CurrentStep id=step_id.clone() view=view />
                            {elapsed}
                            <button type="button" class="stop" data-testid="stop"
                                on:click={
                                    let id = stop_id.clone();
                                    move |_| stop(id.clone())
                                }>
                                {move || lang.get().stop()}
                            </button>
                        </div>
                    </Show>
                }
                .into_any(),
            )
        }
        _ => None,
    };
    let body = match &line.kind {
        // Stopped by the user: a quiet note, not an error.
        Kind::Error(ErrorLine {
            code: ErrorCode::Cancelled,
            ..
        }) => {
            let id = line.id.clone();
            view! {
                <div class="bubble stopped">
                    <span>{move || lang.get().error_text(ErrorCode::Cancelled)}</span>
                    <button type="button" class="retry-message" data-testid="retry-message"
                        on:click=move |_| retry(id.clone())>
                        {move || lang.get().run_again()}
                    </button>
                </div>
            }
            .into_any()
        }
        // A quota refused it: when it can go (it stays in the outbox).
        Kind::Error(ErrorLine {
            code: ErrorCode::QuotaExceeded,
            quota,
            resets_at,
        }) => {
            let (quota, resets_at) = (*quota, *resets_at);
            let sentence = move || {
                let at = resets_at.map_or_else(String::new, |ms| {
                    let t = local(ms as f64);
                    format!("{:02}:{:02}", t.hour, t.minute)
                });
                lang.get().quota_reached(quota, &at)
            };
            view! {
                <div class="bubble quota" data-testid="quota-exceeded">
                    <strong>{sentence}</strong>
                </div>
            }
            .into_any()
        }
        Kind::Error(error) => {
            let code = error.code;
            let id = line.id.clone();
            let retry_button = code.is_retryable().then(|| {
                view! {
                    <button type="button" class="retry-message" data-testid="retry-message"
                        on:click=move |_| retry(id.clone())>
                        {move || lang.get().retry()}
                    </button>
                }
            });
            view! {
                <div class="bubble">
                    <strong>{move || lang.get().error_text(code)}</strong>
                    <div class="detail">{line.text.clone()}</div>
                    {retry_button}
                </div>
            }
            .into_any()
        }
        Kind::Bot(bot) => match &bot.run {
            Some(run) if !run.buttons.is_empty() => view! {
                <BotBubble text=line.text.clone() doc=bot.doc.clone() view=view />
                <Choices id=line.id.clone() run=run.clone() view=view choose=choose />
            }
            .into_any(),
            _ if line.is_rateable() => view! {
                <BotBubble text=line.text.clone() doc=bot.doc.clone() view=view />
                <StepsFold id=line.id.clone() view=view />
                <Rate id=line.id.clone() rating=bot.rating view=view rate=rate />
                <AnswerTools id=line.id.clone() view=view regenerate=regenerate switch=switch />
            }
            .into_any(),
            _ => view! { <BotBubble text=line.text.clone() doc=bot.doc.clone() view=view /> }
                .into_any(),
        },
        // A regenerated message repeats the text above: only its note shows.
        Kind::User(user) if user.regenerates.is_some() => ().into_any(),
        Kind::User(_) | Kind::System => {
            let text = (!line.text.is_empty())
                .then(|| view! { <div class="bubble plain" dir="auto">{line.text.clone()}</div> });
            let attachments = line
                .user()
                .map(|u| u.attachments.clone())
                .unwrap_or_default();
            view! {
                {text}
                <SentAttachments attachments=attachments view=view />
            }
            .into_any()
        }
    };
    // Folded: an earlier (or later) answer of a regenerated message.
    let folded = {
        let line = line.clone();
        move || view.conversation.with(|c| c.is_folded(&line))
    };
    view! {
        <li class=class data-testid="message" data-role=line.role().name() data-id=line.id.clone()
            data-state=line.user().map(|u| u.delivery.name()) tabindex="-1" hidden=folded>
            {body}
            {note}
            <Stamp at=line.at view=view />
        </li>
    }
}

/// When a line was written or arrived: "5 min ago", the exact date and
/// time on hover (`title`) and for machines (`datetime`).
#[component]
fn Stamp(at: Option<u64>, view: Screen) -> impl IntoView {
    at.map(|at| {
        let at = at as f64;
        let iso = exact_time(at, "en").1;
        let text = move || {
            let now = view.minute.get().max(at);
            view.texts
                .get()
                .relative(when(now - at, local(at), local(now)), at)
        };
        let exact = move || exact_time(at, view.texts.get().lang().code()).0;
        view! { <time class="at" data-testid="time" datetime=iso title=exact>{text}</time> }
    })
}

/// The buttons of a run's question (an approval). Usable while the run
/// waits on this message and none was pressed; the pressed one stays marked.
#[component]
fn Choices(
    id: String,
    run: RunMessage,
    view: Screen,
    choose: impl Fn(String, u32, u32) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let (seq, chosen) = (run.seq, run.chosen);
    let open = {
        let id = id.clone();
        move || {
            chosen.is_none()
                && view
                    .conversation
                    .with(|c| c.waiting.as_deref() == Some(id.as_str()))
        }
    };
    let buttons = run
        .buttons
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let i = i as u32;
            let id = id.clone();
            let open = open.clone();
            let class = match b.style {
                shared::ButtonStyle::Primary => "choice primary",
                shared::ButtonStyle::Secondary => "choice",
            };
            view! {
                <button type="button" class=class data-testid="choice"
                    aria-pressed=(chosen == Some(i)).to_string()
                    disabled=move || !open()
                    on:click=move |_| choose(id.clone(), seq, i)>
                    {b.text.clone()}
                </button>
            }
        })
        .collect_view();
    view! { <div class="choices" role="group">{buttons}</div> }
}
