//! `deploy/grafana-dashboard.json` stays in step with the relay: it is
//! valid JSON with panels, and every metric its queries name is one the
//! relay exports (a renamed metric would leave a panel silently empty).

use std::collections::BTreeSet;

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/grafana-dashboard.json"
));

/// The `relay_…` names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("relay_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_metric_the_dashboard_queries_is_exported() {
    let dashboard: serde_json::Value =
        serde_json::from_str(DASHBOARD).expect("the dashboard is valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let exported: BTreeSet<String> = server::metrics::Metrics::names().into_iter().collect();
    let mut queried = BTreeSet::new();
    for panel in panels {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "a panel without a query: {panel}");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            let names = metric_names(expr);
            assert!(!names.is_empty(), "a query without a relay metric: {expr}");
            queried.extend(names);
        }
    }
    let unknown: Vec<&String> = queried.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard queries metrics the relay does not export: {unknown:?} (exported: {exported:?})"
    );
    // And the dashboard shows the list.
    for wanted in [
        "relay_messages_total",
        "relay_n8n_first_text_seconds_bucket",
        "relay_n8n_answer_seconds_bucket",
        "relay_queue_depth",
        "relay_queue_limit",
        "relay_uploads_total",
        "relay_store_up",
        "relay_redis_link_up",
        "relay_quota_refusals_total",
        "relay_connections",
        "relay_sessions",
    ] {
        assert!(queried.contains(wanted), "no panel shows {wanted}");
    }
}

#[test]
fn names_are_read_from_queries() {
    assert_eq!(
        metric_names("sum(rate(relay_a_total[5m])) / sum(relay_b{x=\"relay_\"})"),
        ["relay_a_total", "relay_b", "relay_"]
    );
}
