//! libFuzzer entry of the `cert` target: [`fuzz_targets::cert::run`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::cert::run(data));
