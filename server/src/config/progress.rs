//! What a visitor sees of the workflow's progress (see `chat::progress`).

use shared::MAX_PROGRESS_STEP_CHARS;

use crate::chat::progress::Settings;
pub use crate::chat::progress::StepLabel;

/// What a visitor sees of the workflow's progress.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Progress")]
pub struct ProgressFlags {
    /// Text shown while a node streams, as 'Node name=Text shown' (repeatable).
    ///
    /// E.g. 'Knowledge base=Searching the knowledge base'. A node without one
    /// shows the page's generic "Working…" in the page's language; 'Node
    /// name=' (empty text) hides that node's steps. In the env var, one per
    /// line.
    #[arg(long = "progress-label", env = "RELAY_PROGRESS_LABEL", value_delimiter = '\n', value_parser = parse_progress_label)]
    pub progress_labels: Vec<StepLabel>,

    /// Show n8n's node names as the steps of nodes without a --progress-label.
    ///
    /// Off by default: node names are internal (they may say more about the
    /// workflow than visitors should see).
    #[arg(long, env = "RELAY_SHOW_NODE_NAMES")]
    pub show_node_names: bool,
}

impl ProgressFlags {
    /// What the chat shows of the workflow's steps.
    pub fn settings(&self) -> Settings {
        Settings {
            labels: self.progress_labels.clone(),
            show_node_names: self.show_node_names,
        }
    }
}

/// Parses `Node name=Text shown` (split at the first `=`; both sides
/// trimmed; the text at most [`MAX_PROGRESS_STEP_CHARS`] characters).
pub fn parse_progress_label(s: &str) -> Result<StepLabel, String> {
    let Some((node, text)) = s.split_once('=') else {
        return Err("expected 'Node name=Text shown'".into());
    };
    let (node, text) = (node.trim(), text.trim());
    if node.is_empty() {
        return Err("the node name before '=' is empty".into());
    }
    let chars = text.chars().count();
    if chars > MAX_PROGRESS_STEP_CHARS {
        return Err(format!(
            "the text for \"{node}\" is {chars} characters; at most {MAX_PROGRESS_STEP_CHARS} fit under an answer"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("the text for \"{node}\" has a control character"));
    }
    Ok(StepLabel {
        node: node.to_owned(),
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_with_a_clear_error() {
        assert_eq!(
            parse_progress_label(" Knowledge base = Searching the knowledge base "),
            Ok(StepLabel {
                node: "Knowledge base".into(),
                text: "Searching the knowledge base".into()
            })
        );
        assert_eq!(
            parse_progress_label("a=b=c").map(|l| l.text),
            Ok("b=c".into())
        );
        assert_eq!(
            parse_progress_label("Hidden=").map(|l| l.text),
            Ok("".into())
        );
        assert!(parse_progress_label("no equals sign").is_err());
        assert!(parse_progress_label("=text").is_err());
        let long = format!("Node={}", "x".repeat(MAX_PROGRESS_STEP_CHARS + 1));
        let error = parse_progress_label(&long).expect_err("too long");
        assert!(error.contains("at most 80"), "{error}");
        let fits = format!("Node={}", "ü".repeat(MAX_PROGRESS_STEP_CHARS));
        assert!(parse_progress_label(&fits).is_ok(), "characters, not bytes");
    }
}
