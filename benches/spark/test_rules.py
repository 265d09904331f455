"""Checks the Spark hashtag rules (hashtags.py) against the Python port (reference_view.py) and
against the expectations of crates/model/src/hashtag.rs's unit tests.

    $VENV/bin/python benches/spark/test_rules.py      # a local[1] Spark session, ~30 s

1. The cases of hashtag.rs's tests: extraction (tags as written) and normalised keys, with and
   without the NFKC UDF (without it, only cases whose keys need no NFKC are expected to match).
2. Random texts dense in hash signs and the characters the rules are about (the same idea as
   hashtag.rs's property test): Spark's regex and the Python scanner must extract the same tags.
3. The `hashtags` list column: used as given (leading hashes stripped, empties dropped) when not
   null, extraction only when null.
Prints 'N passed, N failed' and exits non-zero on a failure.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_view as R  # noqa: E402

# (text, tags as written) from hashtag.rs's tests.
CASES = [
    ("", []), ("plain text, no tags at all", []), ("#", []), ("# rust", []), ("a # b ＃ c", []),
    ("#rust", ["rust"]), ("I love #rust and #Go", ["rust", "Go"]), ("line\n#rust\t#go", ["rust", "go"]),
    ("東京\u3000#rust", ["rust"]), ("(#rust)", ["rust"]), ("a,#b;#c!#d", ["b", "c", "d"]),
    ('"#rust"', ["rust"]), ("🦀#rust", ["rust"]), ("-#rust", ["rust"]), ("abc#rust", []),
    ("é#rust", []), ("東#rust", []), ("1#rust", []), ("١#rust", []), ("_#rust", []), ("·#rust", []),
    ("a\u0301#rust", []), ("&#rust", []), ("& #rust", ["rust"]), ("\ufe0f#rust", ["rust"]),
    ("❤\ufe0f#rust", ["rust"]), ("\ufe0e#rust", ["rust"]),
    ("＃rust", ["rust"]), ("日本語 ＃東京", ["東京"]), ("#＃rust", ["rust"]), ("＃#rust", ["rust"]),
    ("##rust", ["rust"]), ("＄rust ｒust", []), ("＄#rust", ["rust"]),
    ("#\ufe0f\u20e3", []), ("press #\u20e3 now", []), ("#\ufe0frust", []),
    ("#\ufe0f\u20e3 #rust", ["rust"]), ("#\ufe0erust", ["\ufe0erust"]),
    ("#2024", []), ("#16 #1_000", []), ("#___", []), ("#١٢٣", []),
    ("#2024goals #goals2024", ["2024goals", "goals2024"]), ("#rust_lang2", ["rust_lang2"]),
    ("#_rust_", ["_rust_"]), ("#rust-lang", ["rust"]), ("#rust.", ["rust"]), ("#rust's", ["rust"]),
    ("#rust🦀 is fun", ["rust"]), ("#rust😀!", ["rust"]), ("#a\u0301", ["a\u0301"]),
    ("#\u0301", ["\u0301"]), ("#a²", ["a"]),
    ("#می\u200cخواهم", ["می\u200cخواهم"]), ("#क्\u200dष", ["क्\u200dष"]),
    ("#ひらがな・カタカナ", ["ひらがな・カタカナ"]), ("#ゔ゛ん", ["ゔ゛ん"]), ("#l·l", ["l·l"]),
    ("#עם־ישראל", ["עם־ישראל"]), ("#צה״ל", ["צה״ל"]), ("#བོད་ཡིག", ["བོད་ཡིག"]),
    ("#東京 #とうきょう #トウキョウ", ["東京", "とうきょう", "トウキョウ"]),
    ("#москва #Київ", ["москва", "Київ"]), ("#مرحبا بكم", ["مرحبا"]), ("#हिन्दी भाषा", ["हिन्दी"]),
    ("#한국어", ["한국어"]), ("#ภาษาไทย", ["ภาษาไทย"]), ("#Ελλάδα", ["Ελλάδα"]),
    ("#café #naïve", ["café", "naïve"]), ("#𝒳", ["𝒳"]),
    ("#rust#go", []), ("#rust＃go", []), ("#http://example.com", []), ("#http: #rust:", ["http", "rust"]),
    ("#rust #go", ["rust", "go"]), ("see http://x.com/#tag", []),
    ("https://example.com/page?q=1&x=/#frag", []), ("twitter.com/#tag", []), ("go to example.org/#foo", []),
    ("example.com #tag", ["tag"]), ("http://x.com\u3000#tag", ["tag"]), ("and/#tag", ["tag"]),
    ("e.g.#tag", ["tag"]),
    ("RT @a: so good #rustl…", []), ("RT @a: so good #rustl… ", []),
    ("RT @a: #rust so good #lambd…", ["rust"]), ("#rust… and more", ["rust"]), ("#rust …", ["rust"]),
    ("#rust...", ["rust"]), ("€€ #Rust_2", ["Rust_2"]),
]
# (text, keys) from hashtag.rs's normalisation tests: these need NFKC.
NFKC_CASES = [
    ("#Rust #RUST ＃ｒｕｓｔ #Café #cafe\u0301", ["rust", "café"]),
    ("#ＲＵＳＴ", ["rust"]), ("#ﬁsh", ["fish"]), ("#ᴬb", ["ab"]), ("#Straße", ["straße"]),
    ("#МОСКВА", ["москва"]), ("#ΣΑΣ", ["σας"]), ("#ｶﾀｶﾅ", ["カタカナ"]),
]

ALPHABET = list("##＃＃ab Zé1_&/.:…·\u0301\u200c\ufe0e\ufe0f\u20e3東ж١\u3000\n-🦀") + ["://", "http://x.co/", "e.g/"]


def random_texts(n, seed=7):
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24))) for _ in range(n)]


def main():
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    import hashtags as H

    spark = (
        SparkSession.builder.master("local[1]").appName("lambda-trends-rules-test")
        .config("spark.ui.enabled", "false").getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    schema = StructType([StructField("tweet", StringType()), StructField("hashtags", ArrayType(StringType()))])
    passed = failed = 0

    def check(name, got, want):
        nonlocal passed, failed
        if got == want:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name}: got {got!r}, want {want!r}")

    # 1 and 2: extraction, as written.
    texts = [t for t, _ in CASES] + [t for t, _ in NFKC_CASES] + random_texts(3000)
    df = spark.createDataFrame([(t, None) for t in texts], schema)
    rows = df.select(
        "tweet",
        F.regexp_extract_all(F.col("tweet"), F.lit(H.HASHTAG_REGEX), F.lit(1)).alias("raw"),
        H.hashtag_keys(F.col("tweet"), F.col("hashtags")).alias("keys"),
        H.hashtag_keys(F.col("tweet"), F.col("hashtags"), nfkc=True).alias("keys_nfkc"),
    ).collect()
    by_text = {r["tweet"]: r for r in rows}
    for text, want in CASES:
        r = by_text[text]
        check(f"hashtag.rs case {text!r}", list(r["raw"]), want)
        check(f"python port {text!r}", R.extract_displays(text), want)
        keys = sorted(set(R.extract_hashtags(text)))
        check(f"keys {text!r}", sorted(r["keys_nfkc"]), keys)
        if all(k == d.lower() for k, d in zip(R.extract_hashtags(text), R.extract_displays(text))):
            check(f"keys without NFKC {text!r}", sorted(r["keys"]), keys)
    for text, want in NFKC_CASES:
        r = by_text[text]
        check(f"nfkc keys {text!r}", sorted(r["keys_nfkc"]), sorted(want))
        check(f"python port keys {text!r}", sorted(set(R.extract_hashtags(text))), sorted(want))
    fuzz_fail = 0
    for text in texts[len(CASES) + len(NFKC_CASES):]:
        r = by_text[text]
        if list(r["raw"]) != R.extract_displays(text) or sorted(r["keys_nfkc"]) != sorted(set(R.extract_hashtags(text))):
            fuzz_fail += 1
            if fuzz_fail <= 10:
                print(f"FAIL random text {text!r}: spark {list(r['raw'])!r}, python {R.extract_displays(text)!r}")
    check(f"{len(texts) - len(CASES) - len(NFKC_CASES)} random texts agree", fuzz_fail, 0)

    # 3: the list column.
    given = [
        ("#ignored text", ["Rust", "#Go", "＃rust", "", "#", None], ["go", "rust"]),
        ("#Text only", None, ["text"]),
        ("no tags", [], []),
    ]
    df = spark.createDataFrame([(t, g) for t, g, _ in given], schema)
    got = {r["tweet"]: sorted(r["keys"]) for r in df.select("tweet", H.hashtag_keys(F.col("tweet"), F.col("hashtags")).alias("keys")).collect()}
    for text, g, want in given:
        check(f"given {g!r}", got[text], want)
        check(f"python port given {g!r}", sorted(R.hashtag_keys(text, g)), want)

    # Slots: floor, also before 1970.
    df = spark.createDataFrame([(t,) for t in [0, 299_999, 300_000, -1, -300_000, -300_001, 1795441234567]], "ts bigint")
    for r in df.select("ts", H.slot(F.col("ts")).alias("s")).collect():
        check(f"slot {r['ts']}", r["s"], r["ts"] - r["ts"] % 300_000)

    spark.stop()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
