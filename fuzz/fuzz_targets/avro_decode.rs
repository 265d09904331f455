//! The Avro post decoder (`model::avro::PostCodec::decode`) on arbitrary record values, framing
//! included (single-object `C3 01` + fingerprint, Confluent `00` + schema id): it never panics,
//! a rejection has a stable reason code and a one-line reason, and whatever decodes re-encodes
//! (in both framings) and decodes to the same post, and its hashtag keys are normalised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::avro::PostCodec;

/// The Confluent schema id the second codec knows (seeds with `00 00 00 00 01` reach the datum).
const SCHEMA_ID: u32 = 1;

fuzz_target!(|data: &[u8]| {
    let codecs = [
        PostCodec::new(),
        PostCodec::with_confluent_schema_id(SCHEMA_ID),
    ];
    for codec in &codecs {
        match codec.decode(data) {
            Ok(post) => {
                for writer in &codecs {
                    let bytes = writer.encode(&post);
                    let again = writer.decode(&bytes).expect("a re-encoded post decodes");
                    assert_eq!(again, post, "the post changed through a re-encode");
                }
                // The Confluent codec reads both framings.
                let single = codecs[1].decode(&codecs[0].encode(&post));
                assert_eq!(
                    single.ok().as_ref(),
                    Some(&post),
                    "single-object, read by the Confluent codec"
                );
                fuzz_checks::check_keys(&post);
            }
            Err(e) => {
                let code = e.reason_code();
                let snake_case = code.starts_with(|c: char| c.is_ascii_lowercase())
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                assert!(snake_case, "reason code {code:?}");
                assert!(!e.to_string().contains('\n'), "a multi-line reason: {e}");
            }
        }
    }
    // Both codecs read single-object records the same way.
    if data.first() == Some(&0xC3) {
        assert_eq!(
            codecs[0].decode(data).ok(),
            codecs[1].decode(data).ok(),
            "the codecs disagree on a single-object record"
        );
    }
});
