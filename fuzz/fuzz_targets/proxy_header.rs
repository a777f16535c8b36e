#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_sansio_tests::fuzz_bodies::proxy_header::proxy_header(data));
