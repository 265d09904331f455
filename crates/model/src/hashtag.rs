//! Hashtag extraction by the twitter-text rules, and normalisation for counting.
//!
//! The rules (from twitter-text, as X applies them):
//! 1. a hash sign `#` or fullwidth `＃`,
//! 2. at the start of the text or after a character that is neither `&` nor a hashtag
//!    character (U+FE0E and U+FE0F, the variation selectors, also allow a tag after them),
//! 3. not the keycap `#️⃣` (a hash followed by U+FE0F or U+20E3),
//! 4. a body of hashtag characters — letters, marks, decimal digits, `_` and a few joiners and
//!    script-specific signs — with at least one letter or mark (`#2024` is not a tag),
//! 5. not followed by another hash sign or by `://`,
//! 6. not inside a URL (`http://x.com/#tag`, `twitter.com/#tag`),
//! 7. and, as X does for truncated retweets, not cut by a final `…`.
//!
//! Indices count Unicode code points, as X API v2 entities do.

use regex::Regex;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

/// The characters a hashtag body is made of, besides letters, marks and decimal digits.
const EXTRA: &str = "_\u{200C}\u{200D}\u{A67E}\u{05BE}\u{05F3}\u{05F4}\u{FF5E}\u{301C}\u{309B}\u{309C}\u{30A0}\u{30FB}\u{3003}\u{0F0B}\u{0F0C}\u{00B7}";

static HASHTAG: LazyLock<Regex> = LazyLock::new(|| {
    let a = format!(r"\p{{L}}\p{{M}}\p{{Nd}}{EXTRA}");
    Regex::new(&format!(
        r"(?:^|[\x{{FE0E}}\x{{FE0F}}]|[^&{a}])([#＃])([{a}]*[\p{{L}}\p{{M}}][{a}]*)"
    ))
    .expect("the hashtag pattern compiles")
});

/// A hashtag found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashtag {
    /// The tag as written, without the `#`.
    pub display: String,
    /// The counting key: [`normalize_hashtag`] of the display form.
    pub key: String,
    /// Index of the `#` in Unicode code points (as X API v2 entities count).
    pub start: usize,
    /// End of the tag, exclusive, in Unicode code points.
    pub end: usize,
}

/// Extracts hashtags from `text` by the twitter-text rules.
pub fn extract_hashtags(text: &str) -> Vec<Hashtag> {
    if !text.contains(['#', '＃']) {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Code points before byte `counted_to`, advanced incrementally as matches move right.
    let (mut counted_to, mut counted) = (0usize, 0usize);
    for caps in HASHTAG.captures_iter(text) {
        let (hash, body) = (caps.get(1).expect("group 1"), caps.get(2).expect("group 2"));
        let after_hash = &text[hash.end()..];
        if after_hash.starts_with(['\u{FE0F}', '\u{20E3}']) {
            continue; // keycap #️⃣
        }
        let rest = &text[body.end()..];
        if rest.starts_with(['#', '＃']) || rest.starts_with("://") {
            continue;
        }
        if rest.starts_with('…') && rest['…'.len_utf8()..].trim().is_empty() {
            continue; // cut by the ellipsis of a truncated text
        }
        if in_url(&text[..hash.start()]) {
            continue;
        }
        counted += text[counted_to..hash.start()].chars().count();
        counted_to = hash.start();
        let start = counted;
        let display = body.as_str();
        let end = start + 1 + display.chars().count();
        out.push(Hashtag {
            display: display.to_string(),
            key: normalize_hashtag(display),
            start,
            end,
        });
    }
    out
}

/// Whether a hash sign right after `before` sits inside a URL: the whitespace-delimited token
/// before it contains `://`, or contains a `.` and ends with `/`.
fn in_url(before: &str) -> bool {
    let token = before.rsplit(char::is_whitespace).next().unwrap_or("");
    token.contains("://") || (token.contains('.') && token.ends_with('/'))
}

/// Normalises a hashtag (without `#`) for counting: NFKC, then lowercase (and NFKC again, so
/// the key is stable under normalisation).
pub fn normalize_hashtag(tag: &str) -> String {
    if tag.is_ascii() {
        return tag.to_ascii_lowercase();
    }
    let folded: String = tag.nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tags(text: &str) -> Vec<String> {
        extract_hashtags(text)
            .into_iter()
            .map(|h| h.display)
            .collect()
    }

    #[test]
    fn position_rules() {
        assert_eq!(tags("#rust"), ["rust"]);
        assert_eq!(tags("I love #rust and #Go."), ["rust", "Go"]);
        assert_eq!(tags("(#rust)"), ["rust"]);
        assert_eq!(tags("a,#b;#c"), ["b", "c"]);
        assert!(tags("abc#rust").is_empty(), "after a letter");
        assert!(tags("1#rust").is_empty(), "after a digit");
        assert!(tags("_#rust").is_empty(), "after an underscore");
        assert!(
            tags("&#rust").is_empty(),
            "after an ampersand (an HTML entity)"
        );
        assert_eq!(
            tags("\u{FE0F}#rust"),
            ["rust"],
            "after a variation selector"
        );
    }

    #[test]
    fn body_rules() {
        assert_eq!(tags("#＃rust"), ["rust"], "the second hash starts the tag");
        assert_eq!(tags("＃rust"), ["rust"], "fullwidth hash");
        assert!(tags("#2024").is_empty(), "digits only");
        assert_eq!(tags("#2024goals"), ["2024goals"]);
        assert_eq!(tags("#rust_lang2"), ["rust_lang2"]);
        assert_eq!(tags("#rust-lang"), ["rust"], "a hyphen ends the tag");
        assert_eq!(tags("#rust🦀 is fun"), ["rust"], "an emoji ends the tag");
        assert!(tags("#\u{FE0F}\u{20E3} keycap").is_empty());
        assert!(tags("#rust#go").is_empty(), "followed by a hash");
        assert!(tags("#http://example.com").is_empty(), "followed by ://");
    }

    #[test]
    fn scripts_and_joiners() {
        assert_eq!(tags("#東京 #москва #café"), ["東京", "москва", "café"]);
        assert_eq!(tags("#ひらがな・カタカナ"), ["ひらがな・カタカナ"]);
        assert_eq!(tags("#مرحبا"), ["مرحبا"]);
        assert_eq!(tags("#हिन्दी"), ["हिन्दी"], "Devanagari with combining marks");
        assert_eq!(
            tags("#می\u{200C}خواهم"),
            ["می\u{200C}خواهم"],
            "zero-width non-joiner"
        );
        assert_eq!(
            tags("#cafe\u{301}"),
            ["cafe\u{301}"],
            "a combining accent is part of the tag"
        );
    }

    #[test]
    fn urls_and_truncation() {
        assert!(tags("see http://x.com/#tag").is_empty());
        assert!(tags("twitter.com/#tag").is_empty());
        assert_eq!(
            tags("example.com #tag"),
            ["tag"],
            "a URL before a space does not matter"
        );
        assert!(
            tags("RT @a: so good #rustl…").is_empty(),
            "cut by the final ellipsis"
        );
        assert_eq!(
            tags("#rust… and more"),
            ["rust"],
            "an ellipsis in the middle is fine"
        );
    }

    #[test]
    fn indices_count_code_points() {
        let h = extract_hashtags("🦀 héllo #Rust");
        assert_eq!((h[0].start, h[0].end), (8, 13));
        assert_eq!(h[0].key, "rust");
        let h = extract_hashtags("#a #b");
        assert_eq!(
            h.iter().map(|h| (h.start, h.end)).collect::<Vec<_>>(),
            [(0, 2), (3, 5)]
        );
    }

    #[test]
    fn normalisation_folds_case_and_compatibility_forms() {
        assert_eq!(normalize_hashtag("Rust"), "rust");
        assert_eq!(normalize_hashtag("ＲＵＳＴ"), "rust", "fullwidth letters");
        assert_eq!(normalize_hashtag("ﬁsh"), "fish", "ligature");
        assert_eq!(
            normalize_hashtag("Café"),
            normalize_hashtag("cafe\u{301}"),
            "composed and decomposed"
        );
        assert_eq!(normalize_hashtag("Straße"), "straße");
        assert_eq!(normalize_hashtag("МОСКВА"), "москва");
    }

    proptest! {
        #[test]
        fn extracted_spans_are_hash_plus_display(text in "\\PC{0,40}") {
            let chars: Vec<char> = text.chars().collect();
            for h in extract_hashtags(&text) {
                let span: String = chars[h.start..h.end].iter().collect();
                let ok = span == format!("#{}", h.display) || span == format!("＃{}", h.display);
                prop_assert!(ok, "span {:?} of {:?}", span, h);
                prop_assert_eq!(h.key.clone(), normalize_hashtag(&h.display));
            }
        }

        #[test]
        fn normalisation_is_idempotent(tag in "\\PC{0,12}") {
            let k = normalize_hashtag(&tag);
            prop_assert_eq!(normalize_hashtag(&k), k);
        }

        #[test]
        fn written_tags_are_found(words in prop::collection::vec("[a-zA-Z][a-zA-Z0-9_]{0,10}", 1..5)) {
            let text = words.iter().map(|w| format!("#{w}")).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(tags(&text), words);
        }
    }
}
