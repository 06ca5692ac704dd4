//! libFuzzer entry for [`checks::n8n_answer`](../checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::n8n_answer(data));
