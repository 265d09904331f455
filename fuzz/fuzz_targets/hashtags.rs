//! The hashtag extractor and normaliser (`model::hashtag`) on arbitrary text: they never panic;
//! every hashtag has a non-empty display form and a non-empty key that is the normalised
//! display form and normalised already (normalising it again gives itself); its code-point span
//! is a hash sign followed by the display form, spans are in order and do not overlap;
//! extraction is deterministic; and a post's keys (`model::hashtag_keys`, from the text or from a
//! source-given list) are non-empty, normalised, sorted and distinct.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::{Post, extract_hashtags, hashtag_keys, normalize_hashtag};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let tags = extract_hashtags(&text);
    assert_eq!(
        tags,
        extract_hashtags(&text),
        "extraction is not deterministic"
    );
    let chars: Vec<char> = text.chars().collect();
    let mut after_last = 0;
    for tag in &tags {
        assert!(!tag.display.is_empty(), "an empty tag");
        assert!(!tag.key.is_empty(), "an empty key for {:?}", tag.display);
        assert_eq!(tag.key, normalize_hashtag(&tag.display));
        assert_eq!(
            normalize_hashtag(&tag.key),
            tag.key,
            "the key is not normalised"
        );
        assert!(after_last <= tag.start && tag.start < tag.end && tag.end <= chars.len());
        assert!(
            matches!(chars[tag.start], '#' | '＃'),
            "the span does not start at a hash"
        );
        assert_eq!(
            chars[tag.start + 1..tag.end].iter().collect::<String>(),
            tag.display,
            "the span is not the tag"
        );
        after_last = tag.end;
    }

    // Normalising any text is stable.
    let key = normalize_hashtag(&text);
    assert_eq!(
        normalize_hashtag(&key),
        key,
        "normalising twice changed the text"
    );

    // A post's keys, extracted from the text, and from a source-given list (its lines).
    let extracted = hashtag_keys(&text, None);
    let mut expected: Vec<String> = tags.into_iter().map(|t| t.key).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(extracted, expected);
    let given: Vec<String> = text.lines().map(str::to_owned).collect();
    for keys in [extracted, hashtag_keys("", Some(&given))] {
        for key in &keys {
            assert!(!key.is_empty());
            assert_eq!(&normalize_hashtag(key), key);
        }
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "not sorted and distinct"
        );
    }
    fuzz_checks::check_keys(&Post {
        userid: 0,
        username: String::new(),
        timestamp: 0,
        tweetid: 0,
        tweet: text.into_owned(),
        source: None,
        lang: None,
        hashtags: Some(given),
    });
});
