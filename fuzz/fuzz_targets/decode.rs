//! Any bytes: decoding never panics, and whatever decodes re-encodes to bytes that decode
//! to the same record, in both layouts.
#![no_main]

use dmsrs_codec::{DecodeOptions, MessageFormat, Messages, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = decode(data) {
        for format in [MessageFormat::Json, MessageFormat::JsonUnformatted] {
            let bytes = encode(&record, format);
            let again = decode(&bytes).expect("re-encoded record must decode");
            assert_eq!(again, record);
        }
    }
    if let Ok(messages) = Messages::from_bytes(data, DecodeOptions::default()) {
        for m in messages.take(1000) {
            let _ = m;
        }
    }
});
