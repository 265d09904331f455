"""The hashtag rules of lambda-trends (crates/model/src/hashtag.rs, post.rs, slot.rs), for Spark.

Shared by the batch job (batch_view.py) and the streaming job (streaming.py). Everything here is
built from Spark SQL functions (no Python UDF), so the plan runs in the JVM the way a Scala job
would, except for the optional exact NFKC step (`nfkc=True`), which is a Python UDF.

The view: for each post, the distinct normalised hashtags -- from the `hashtags` list column when
it is not null (a leading '#' or '＃' stripped, empty ones dropped), else extracted from `tweet`
by a regular expression that encodes the twitter-text rules our extractor implements -- and the
post's 5-minute slot, floor(timestamp / 300000) * 300000.
"""

from pyspark.sql import Column
from pyspark.sql import functions as F

SLOT_MILLIS = 300_000

# Characters twitter-text allows in a hashtag body besides \p{L}, \p{M}, \p{Nd} and '_'
# (hashtag.rs, char_kind): ZWNJ, ZWJ and a few script-specific signs and punctuation.
_EXTRA = (
    r"\x{200C}\x{200D}\x{A67E}\x{05BE}\x{05F3}\x{05F4}\x{FF5E}\x{301C}\x{309B}\x{309C}"
    r"\x{30A0}\x{30FB}\x{3003}\x{0F0B}\x{0F0C}\x{00B7}"
)
_BODY = r"[\p{L}\p{M}\p{Nd}_" + _EXTRA + "]"
_NOT_LETTER_BODY = r"[\p{Nd}_" + _EXTRA + "]"

# A java.util.regex pattern (Spark's regexp functions use it); group 1 is the tag as written.
# The rules are those of hashtag.rs, numbered as there:
#   (?U)                   \s is Unicode White_Space, like Rust's char::is_whitespace (rule 6)
#   (?=[#＃])              only where a hash sign is: without this the look-behinds below run at
#                             every character (3x slower on the synthetic posts)
#   (?<![...])             2. not after '&' or a hashtag character (U+FE0E/U+FE0F, which are
#                             marks, do allow a tag after them)
#   (?<!://\S{0,1000})     6. not inside a URL: the token before the hash holds "://" ...
#   (?<!\.\S{0,1000}/)        ... or holds a '.' and ends with '/' (bounded look-behind: Java
#                             needs a maximum length; tokens are far shorter than 1000)
#   [#＃]                  1. a hash sign, ASCII or fullwidth
#   (?![\x{FE0F}\x{20E3}]) 3. not the keycap #️⃣
#   (?=...[\p{L}\p{M}])    4. the body holds at least one letter or mark ...
#   (BODY++)                  ... and is the longest run of hashtag characters (possessive, so
#                             the look-aheads below cannot shorten it)
#   (?![#＃]|://)          5. not followed by another hash sign or by "://"
#   (?!…\s*\z)             7. not cut by the final ellipsis of a truncated text
HASHTAG_REGEX = (
    r"(?U)"
    r"(?=[#\x{FF03}])"
    r"(?<![[\p{L}\p{M}\p{Nd}_&" + _EXTRA + r"]&&[^\x{FE0E}\x{FE0F}]])"
    r"(?<!://\S{0,1000})"
    r"(?<!\.\S{0,1000}/)"
    r"[#\x{FF03}]"
    r"(?![\x{FE0F}\x{20E3}])"
    r"(?=" + _NOT_LETTER_BODY + r"*+[\p{L}\p{M}])"
    r"(" + _BODY + r"++)"
    r"(?![#\x{FF03}]|://)"
    r"(?!\x{2026}\s*\z)"
)


def _nfkc_lower_udf():
    """normalize_hashtag's exact rule on an array of tags, as a Python UDF: NFKC, lowercase,
    NFKC again if lower-casing left the text outside NFKC (hashtag.rs, normalize_hashtag)."""
    import unicodedata

    from pyspark.sql.types import ArrayType, StringType

    def norm(tag):
        if tag is None:
            return None
        if tag.isascii():
            return tag.lower()
        folded = unicodedata.normalize("NFKC", tag).lower()
        if not unicodedata.is_normalized("NFKC", folded):
            folded = unicodedata.normalize("NFKC", folded)
        return folded

    def norm_all(tags):
        return None if tags is None else [norm(t) for t in tags]

    return F.udf(norm_all, ArrayType(StringType()))


def hashtag_keys(tweet: Column, hashtags: Column, nfkc: bool = False) -> Column:
    """array<string>: the distinct keys a post counts for (post.rs, hashtag_keys).

    Keys are lower-cased with Spark's lower() (Java's String.toLowerCase: full Unicode mappings,
    like Rust's str::to_lowercase). Ours also applies NFKC first; Spark SQL has no NFKC function,
    so `nfkc=True` does the exact rule in a Python UDF instead (slower: rows go to a Python
    worker). The synthetic vocabulary is written in NFKC already, so both give the same keys on it.
    """
    given = F.transform(hashtags, lambda t: F.regexp_replace(t, r"^[#\x{FF03}]+", ""))
    extracted = F.regexp_extract_all(tweet, F.lit(HASHTAG_REGEX), F.lit(1))
    raw = F.when(hashtags.isNull(), extracted).otherwise(given)
    keys = _nfkc_lower_udf()(raw) if nfkc else F.transform(raw, F.lower)
    return F.array_distinct(F.filter(keys, lambda k: k.isNotNull() & (F.length(k) > 0)))


def slot(timestamp_ms: Column) -> Column:
    """bigint: the start of the 5-minute slot holding `timestamp_ms` (floor, also before 1970)."""
    return timestamp_ms - F.pmod(timestamp_ms, F.lit(SLOT_MILLIS).cast("bigint"))

