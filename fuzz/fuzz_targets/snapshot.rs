#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kopnet_fuzz_targets::files::snapshot(data);
});
