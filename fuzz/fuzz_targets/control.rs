//! libFuzzer entry of the `control` target: [`fuzz_targets::control::run`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::control::run(data));
