//! libFuzzer entry for [`checks::client_frame`](../checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::client_frame(data));
