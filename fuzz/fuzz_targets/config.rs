//! libFuzzer entry of the `config` target: [`fuzz_targets::config::run`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::config::run(data));
