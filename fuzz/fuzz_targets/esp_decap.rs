//! libFuzzer entry of the `esp_decap` target: [`fuzz_targets::esp_decap::run`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::esp_decap::run(data));
