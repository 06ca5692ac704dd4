//! The approval links of n8n's Chat node (rule 7 of
//! `fixtures/respond-to-chat/README.md`): signed over the `Host`, acting
//! only for a browser-like (or absent) User-Agent, answered with n8n's
//! captured pages.

use super::{Executions, Outcome, Step};

/// A browser clicked an approval link.
const RECORDED: &str = include_str!(
    "../../fixtures/respond-to-chat/03-approval-buttons.get-approve-browser-ua.response.raw"
);
/// A bot (e.g. `curl`) fetched it: nothing happens.
const BOT_FETCH: &str = include_str!(
    "../../fixtures/respond-to-chat/03-approval-buttons.get-approve-curl-ua.response.raw"
);
/// A wrong signature or `Host`.
const INVALID: &str = include_str!(
    "../../fixtures/respond-to-chat/03-approval-buttons.get-approve-tampered-signature.response.raw"
);
/// The execution is over.
const NOTHING_TO_DO: &str = include_str!(
    "../../fixtures/respond-to-chat/03-approval-buttons.get-approve-again-after-finish.response.raw"
);

/// The secret the links are signed with (n8n: the instance's HMAC secret).
const SECRET: u64 = 0x6e38_6e5f_6869_7421;

/// The signature of `host` + `path_and_query` (FNV-1a, keyed; n8n uses
/// HMAC-SHA256, the stand-in only needs "changes with any byte").
pub(super) fn sign(host: &str, path_and_query: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ SECRET;
    for b in host.bytes().chain(path_and_query.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}{:016x}", h.rotate_left(17) ^ SECRET)
}

/// Whether `user_agent` looks like a bot to n8n's `isbot` (a few of its
/// patterns; none is "no User-Agent at all", which counts as a person).
fn is_bot(user_agent: Option<&str>) -> bool {
    user_agent.is_some_and(|ua| {
        let ua = ua.to_ascii_lowercase();
        [
            "bot", "curl", "wget", "spider", "crawl", "preview", "python", "http",
        ]
        .iter()
        .any(|p| ua.contains(p))
    })
}

impl Executions {
    /// the whole HTTP answer.
    pub fn follow_link(
        &self,
        path_and_query: &str,
        host: &str,
        user_agent: Option<&str>,
    ) -> String {
        *self.link_requests.lock() += 1;
        let (unsigned, signature) = match path_and_query.rsplit_once("&signature=") {
            Some(parts) => parts,
            None => (path_and_query, ""),
        };
        if signature != sign(host, unsigned) {
            return INVALID.to_owned();
        }
        let id = unsigned
            .strip_prefix("/webhook-waiting/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        let approved = unsigned.contains("approved=true");
        let mut runs = self.runs.lock();
        let Some(e) = runs.get_mut(id) else {
            return NOTHING_TO_DO.to_owned();
        };
        let at_approval = matches!(e.steps.get(e.at), Some(Step::Approve { .. }));
        if e.outcome != Outcome::Running || !e.waiting || !at_approval {
            return NOTHING_TO_DO.to_owned();
        }
        if is_bot(user_agent) {
            return BOT_FETCH.to_owned();
        }
        e.approvals.push(approved);
        e.last_reply = if approved { "approved" } else { "declined" }.to_owned();
        e.resumed = true;
        RECORDED.to_owned()
    }
}
