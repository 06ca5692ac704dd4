//! The workflow's steps as `progress` frames: what a visitor sees while
//! an answer is made.
//!
//! n8n's streamed answers come in begin/item/end blocks, one per responding
//! node or per run of it in a loop; each block is a step. Node names are
//! internal, so a step is shown as the operator's `--progress-label` text
//! for its node, else as the page's own "Working…" (a label key the page
//! translates), or as the node name only with `--show-node-names`.
//!
//! Bounded: at most [`MAX_PROGRESS_STEPS`] steps per answer are reported
//! (a loop over a thousand items does not send a thousand frames), and a
//! step's text is at most [`MAX_PROGRESS_STEP_CHARS`] characters.

use parking_lot::Mutex;
use shared::MessageId;

use shared::{
    ProgressLabel, ServerMessage, StepState, MAX_PROGRESS_STEPS, MAX_PROGRESS_STEP_CHARS,
};

use crate::responder::n8n::stream::Node;
use crate::responder::Step;

/// What a visitor sees of the workflow's steps, converted once from the
/// flags (`--progress-label`, `--show-node-names`) by `config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The operator's texts for the steps of named nodes.
    pub labels: Vec<StepLabel>,
    /// Show the node name of a step without a label.
    pub show_node_names: bool,
}

/// One `--progress-label`: what the steps of node `node` are shown as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLabel {
    /// The node's name, exactly as in the n8n editor.
    pub node: String,
    /// What the visitor sees; empty: the node's steps are not shown.
    pub text: String,
}

/// The steps of one answer so far.
#[derive(Debug)]
pub struct Steps<'a> {
    settings: &'a Settings,
    id: String,
    inner: Mutex<Counted>,
}

#[derive(Debug, Default)]
struct Counted {
    /// Steps reported (never more than [`MAX_PROGRESS_STEPS`]).
    count: u32,
    /// Steps begun and not yet ended: (node id, run, item) → seq. At most
    /// [`MAX_PROGRESS_STEPS`] entries, since only reported steps enter.
    open: Vec<((String, u64, u64), u32)>,
}

/// What one node's steps are shown as; `None`: not shown.
enum Shown {
    Text(String),
    Generic,
}

impl<'a> Steps<'a> {
    /// No steps yet of the answer to message `id`.
    pub fn new(settings: &'a Settings, id: &MessageId) -> Self {
        Steps {
            settings,
            id: id.to_string(),
            inner: Mutex::default(),
        }
    }

    fn shown(&self, node: &Node) -> Option<Shown> {
        if let Some(label) = self
            .settings
            .labels
            .iter()
            .find(|l| l.node == node.node_name)
        {
            return (!label.text.is_empty()).then(|| Shown::Text(label.text.clone()));
        }
        if self.settings.show_node_names {
            return Some(Shown::Text(clip(&node.node_name)));
        }
        Some(Shown::Generic)
    }

    /// The frame a step leads to, if any: not for hidden nodes, steps past
    /// the bound, or an end without its begin.
    pub fn frame(&self, step: Step<'_>) -> Option<ServerMessage> {
        let (node, began) = match step {
            Step::Began(node) => (node, true),
            Step::Ended(node) => (node, false),
        };
        let shown = self.shown(node)?;
        let key = (node.node_id.clone(), node.run_index, node.item_index);
        let mut counted = self.inner.lock();
        let seq = if began {
            if counted.count >= MAX_PROGRESS_STEPS {
                return None;
            }
            counted.count += 1;
            let seq = counted.count;
            counted.open.push((key, seq));
            seq
        } else {
            let at = counted.open.iter().position(|(k, _)| *k == key)?;
            counted.open.swap_remove(at).1
        };
        let (step, label) = match shown {
            Shown::Text(text) => (Some(text), None),
            Shown::Generic => (None, Some(ProgressLabel::Working)),
        };
        Some(ServerMessage::Progress {
            id: self.id.clone(),
            step,
            label,
            seq: Some(seq),
            state: if began {
                StepState::Running
            } else {
                StepState::Done
            },
        })
    }
}

/// A waiting state of message `id` (not a step).
pub fn waiting(id: &MessageId, label: ProgressLabel) -> ServerMessage {
    ServerMessage::Progress {
        id: id.to_string(),
        step: None,
        label: Some(label),
        seq: None,
        state: StepState::Running,
    }
}

/// A node name cut to the bound, with an ellipsis when cut.
fn clip(name: &str) -> String {
    if name.chars().count() <= MAX_PROGRESS_STEP_CHARS {
        return name.to_owned();
    }
    let mut cut: String = name.chars().take(MAX_PROGRESS_STEP_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_ids::mid;

    fn node(id: &str, name: &str, run: u64) -> Node {
        Node {
            node_id: id.into(),
            node_name: name.into(),
            run_index: run,
            item_index: 0,
        }
    }

    /// Settings with `labels` (node, text) and `show_node_names`.
    fn settings(labels: &[(&str, &str)], show_node_names: bool) -> Settings {
        Settings {
            labels: labels
                .iter()
                .map(|(node, text)| StepLabel {
                    node: (*node).into(),
                    text: (*text).into(),
                })
                .collect(),
            show_node_names,
        }
    }

    fn summary(frame: Option<ServerMessage>) -> Option<(Option<String>, Option<u32>, StepState)> {
        match frame? {
            ServerMessage::Progress {
                step,
                label,
                seq,
                state,
                ..
            } => {
                let text = step.or(label.map(|l| format!("{l:?}")));
                Some((text, seq, state))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn labelled_generic_hidden_and_named_steps() {
        let f = settings(
            &[("Search", "Searching the knowledge base"), ("Secret", "")],
            false,
        );
        let steps = Steps::new(&f, &mid("m1"));
        let search = node("a", "Search", 0);
        let other = node("b", "Internal name", 0);
        let secret = node("c", "Secret", 0);
        assert_eq!(
            summary(steps.frame(Step::Began(&search))),
            Some((
                Some("Searching the knowledge base".into()),
                Some(1),
                StepState::Running
            ))
        );
        assert_eq!(steps.frame(Step::Began(&secret)), None, "hidden");
        assert_eq!(steps.frame(Step::Ended(&secret)), None, "hidden");
        assert_eq!(
            summary(steps.frame(Step::Ended(&search))),
            Some((
                Some("Searching the knowledge base".into()),
                Some(1),
                StepState::Done
            ))
        );
        assert_eq!(
            summary(steps.frame(Step::Began(&other))),
            Some((Some("Working".into()), Some(2), StepState::Running)),
            "the node name is not shown"
        );
        let named = settings(&[], true);
        let steps = Steps::new(&named, &mid("m1"));
        let long = node("d", &"n".repeat(200), 0);
        let (text, ..) = summary(steps.frame(Step::Began(&long))).expect("frame");
        let text = text.expect("text");
        assert_eq!(text.chars().count(), MAX_PROGRESS_STEP_CHARS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn each_loop_run_is_a_step_and_ends_find_their_begins() {
        let f = settings(&[], false);
        let steps = Steps::new(&f, &mid("m1"));
        let runs: Vec<Node> = (0..3).map(|r| node("loop", "Loop", r)).collect();
        assert_eq!(
            summary(steps.frame(Step::Began(&runs[0]))).map(|s| s.1),
            Some(Some(1))
        );
        assert_eq!(
            summary(steps.frame(Step::Began(&runs[1]))).map(|s| s.1),
            Some(Some(2))
        );
        assert_eq!(
            summary(steps.frame(Step::Ended(&runs[0]))).map(|s| s.1),
            Some(Some(1))
        );
        assert_eq!(
            summary(steps.frame(Step::Ended(&runs[1]))).map(|s| s.1),
            Some(Some(2))
        );
        assert_eq!(steps.frame(Step::Ended(&runs[2])), None, "never began");
    }

    #[test]
    fn steps_past_the_bound_are_not_reported() {
        let f = settings(&[], false);
        let steps = Steps::new(&f, &mid("m1"));
        for run in 0..u64::from(MAX_PROGRESS_STEPS) {
            let n = node("loop", "Loop", run);
            assert!(steps.frame(Step::Began(&n)).is_some());
            assert!(steps.frame(Step::Ended(&n)).is_some());
        }
        let past = node("loop", "Loop", u64::from(MAX_PROGRESS_STEPS));
        assert_eq!(steps.frame(Step::Began(&past)), None, "the bound");
        assert_eq!(steps.frame(Step::Ended(&past)), None);
        let counted = steps.inner.lock();
        assert_eq!(counted.count, MAX_PROGRESS_STEPS);
        assert!(counted.open.is_empty());
    }
}
