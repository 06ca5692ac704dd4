//! What the workflow does, and more than one answer: the current step
//! under a waiting answer (`progress`), the folded steps under a finished
//! one (`steps`), and Regenerate with the "‹ 1/2 ›" switch. Render only:
//! the rules are in `model::progress` and `model::answers`.

use leptos::prelude::*;

use crate::controller::Screen;
use crate::model::i18n::Texts;
use crate::model::progress::Shown;

fn say(lang: &Texts, shown: &Shown) -> String {
    match shown {
        Shown::Text(text) => text.clone(),
        Shown::Label(label) => lang.progress_label(*label),
    }
}

/// The current step of message `id`, while it is answered.
#[component]
pub fn CurrentStep(id: String, view: Screen) -> impl IntoView {
    let lang = view.texts;
    let current = move || {
        view.conversation.with(|c| {
            c.progress(&id)
                .and_then(|p| p.current.as_ref())
                .map(|shown| say(&lang.get(), shown))
        })
    };
    move || {
        current().map(|text| view! { <span class="progress" data-testid="progress">{text}</span> })
    }
}

/// The steps of message `id`, folded into "3 steps · 12 s" (expandable).
#[component]
pub fn StepsFold(id: String, view: Screen) -> impl IntoView {
    let lang = view.texts;
    move || {
        let lang = lang.get();
        view.conversation.with(|c| {
            let progress = c.progress(&id)?;
            let (count, secs) = progress.summary()?;
            let items = progress
                .steps
                .iter()
                .map(|s| view! { <li>{say(&lang, &s.shown)}</li> })
                .collect_view();
            Some(view! {
                <details class="steps" data-testid="steps">
                    <summary>{lang.steps_summary(count, secs)}</summary>
                    <ol>{items}</ol>
                </details>
            })
        })
    }
}

/// Under an answer: "‹ 1/2 ›" when its message has several answers, and
/// Regenerate on the latest answer. One reactive closure (each closure
/// of a view is its own code in the wasm).
#[component]
pub fn AnswerTools(
    id: String,
    view: Screen,
    regenerate: impl Fn(String) + Copy + Send + Sync + 'static,
    switch: impl Fn(String, bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = view.texts;
    move || {
        let lang = lang.get();
        let (position, can) = view
            .conversation
            .with(|c| (c.answer_position(&id), c.can_regenerate(&id)));
        let (back, on, again) = (id.clone(), id.clone(), id.clone());
        let switcher = position.map(|(n, of)| {
            view! {
                <span class="answer-switch" data-testid="answer-switch">
                    <button type="button" data-testid="answer-prev" disabled=n == 1
                        aria-label=lang.other_answer(false)
                        on:click=move |_| switch(back.clone(), false)>"‹"</button>
                    <span data-testid="answer-position">{format!("{n}/{of}")}</span>
                    <button type="button" data-testid="answer-next" disabled=n == of
                        aria-label=lang.other_answer(true)
                        on:click=move |_| switch(on.clone(), true)>"›"</button>
                </span>
            }
        });
        let button = can.then(|| {
            view! {
                <button type="button" class="regenerate" data-testid="regenerate"
                    on:click=move |_| regenerate(again.clone())>
                    {lang.regenerate()}
                </button>
            }
        });
        (switcher, button)
    }
}
