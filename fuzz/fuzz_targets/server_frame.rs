//! libFuzzer entry for [`checks::server_frame`](../checks.rs).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::server_frame(data));
