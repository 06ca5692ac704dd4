//! Attachments as chips: a thumbnail for an image, the file's kind, name
//! and size otherwise. In the composer each can be removed; in a sent
//! message they show what went with it.

use leptos::prelude::*;

use crate::controller::Screen;
use crate::model::attachments::Attachment;

/// A short label for a file without a thumbnail: its extension ("PDF"),
/// else the second half of its type.
fn kind(a: &Attachment) -> String {
    let ext = a
        .name
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.len() <= 5);
    let kind = ext.unwrap_or_else(|| a.mime.rsplit('/').next().unwrap_or("file"));
    kind.chars().take(5).collect::<String>().to_uppercase()
}

/// One attachment. `remove`: the button that takes it off the draft.
#[component]
pub fn AttachmentChip(
    attachment: Attachment,
    view: Screen,
    #[prop(optional, into)] remove: Option<Callback<()>>,
) -> impl IntoView {
    let picture = match &attachment.thumb {
        Some(src) => view! { <img class="thumb" src=src.clone() alt="" /> }.into_any(),
        None => {
            view! { <span class="kind" aria-hidden="true">{kind(&attachment)}</span> }.into_any()
        }
    };
    let name = attachment.name.clone();
    let remove = remove.map(|remove| {
        let label = Signal::derive(move || view.texts.get().remove_attachment(&name));
        view! {
            <button type="button" class="remove-attachment" data-testid="remove-attachment"
                aria-label=label title=label on:click=move |_| remove.run(())>
                "×"
            </button>
        }
    });
    view! {
        <span class="attachment" data-testid="attachment" data-name=attachment.name.clone()
            title=attachment.name.clone()>
            {picture}
            <span class="attachment-name">{attachment.name.clone()}</span>
            <span class="attachment-size">{move || view.texts.get().size(attachment.size)}</span>
            {remove}
        </span>
    }
}

/// The attachments of a sent message.
#[component]
pub fn SentAttachments(attachments: Vec<Attachment>, view: Screen) -> impl IntoView {
    (!attachments.is_empty()).then(|| {
        let chips = attachments
            .into_iter()
            .map(|a| view! { <AttachmentChip attachment=a view=view /> })
            .collect_view();
        view! { <div class="attachments">{chips}</div> }
    })
}
