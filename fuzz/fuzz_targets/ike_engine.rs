//! libFuzzer entry of the `ike_engine` target: [`fuzz_targets::ike_engine::run`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::ike_engine::run(data));
