//! Fuzz target: see `fuzz/drive.rs` for what runs and what is checked.
#![no_main]

#[path = "../drive.rs"]
mod drive;

libfuzzer_sys::fuzz_target!(|data: &[u8]| drive::csv(data));
