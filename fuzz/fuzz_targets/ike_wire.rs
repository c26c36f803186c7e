//! libFuzzer entry of the `ike_wire` target: [`fuzz_targets::ike_wire::run`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::ike_wire::run(data));
