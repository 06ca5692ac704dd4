//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! same checks the fuzz targets run, so every input the fuzzer ever kept —
//! and every crash it found, once added — stays a regression test.

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        check(&data);
        count += 1;
    }
    assert!(count > 0, "no corpus for {target}");
}

#[test]
fn client_frame_corpus() {
    replay("client_frame", checks::client_frame);
}

#[test]
fn server_frame_corpus() {
    replay("server_frame", checks::server_frame);
}

#[test]
fn n8n_answer_corpus() {
    replay("n8n_answer", checks::n8n_answer);
}

#[test]
fn n8n_stream_corpus() {
    replay("n8n_stream", checks::n8n_stream);
}
