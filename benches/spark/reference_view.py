"""A reference batch view in plain Python, to check the Spark job against (no Spark involved).

Reads the master dataset with pyarrow and computes the view of crates/views/src/batch.rs over all
rows, with a line-by-line port of the Rust rules rather than a regular expression:
crates/model/src/hashtag.rs (extract_hashtags: a scanner over hash signs, the twitter-text rules 1-7;
normalize_hashtag: NFKC, lowercase, NFKC again if needed), post.rs (hashtag_keys: the given list
when not null, else extraction; distinct keys) and slot.rs (SlotStart::containing: floor to 5 min).
Writes CSV with the columns hashtag,slot,count, the shape compare.py reads.

    python reference_view.py --master-dir DIR --out FILE.csv

Unicode classes come from Python's unicodedata (Unicode 14 on Python 3.11); ours come from the
regex crate's tables, which can be a version newer: a difference would only show for characters
assigned in between.
"""

import argparse
import collections
import csv
import glob
import json
import os
import sys
import time
import unicodedata

SLOT_MILLIS = 300_000

# hashtag.rs, char_kind: characters that are hashtag characters but not letters.
_EXTRA = set(
    "\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"
)
LETTER, OTHER, NONE = 1, 2, 0


def char_kind(c):
    if c.isascii():
        if c.isalpha():
            return LETTER
        if c.isdigit() or c == "_":
            return OTHER
        return NONE
    if c in _EXTRA:
        return OTHER
    cat = unicodedata.category(c)
    if cat[0] in "LM":
        return LETTER
    if cat == "Nd":
        return OTHER
    return NONE


def may_precede(prev):
    if prev is None or prev in "\ufe0e\ufe0f":
        return True
    if prev == "&":
        return False
    return char_kind(prev) == NONE


def in_url(before):
    # The whitespace-delimited token before the hash (Rust: rsplit(char::is_whitespace)).
    i = len(before)
    while i > 0 and not before[i - 1].isspace():
        i -= 1
    token = before[i:]
    return "://" in token or (token.endswith("/") and "." in token)


def normalize_hashtag(tag):
    if tag.isascii():
        return tag.lower()
    folded = unicodedata.normalize("NFKC", tag).lower()
    if not unicodedata.is_normalized("NFKC", folded):
        folded = unicodedata.normalize("NFKC", folded)
    return folded


def extract_hashtags(text):
    """Keys of the hashtags in `text`, in order (hashtag.rs, extract_hashtags)."""
    return [normalize_hashtag(d) for d in extract_displays(text)]


def extract_displays(text):
    """The hashtags in `text` as written, without the hash, in order."""
    if "#" not in text and "\uff03" not in text:
        return []
    out = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c != "#" and c != "\uff03":
            i += 1
            continue
        hash_at = i
        body_start = i + 1
        i = body_start
        if not may_precede(text[hash_at - 1] if hash_at > 0 else None):
            continue  # rule 2
        if body_start < n and text[body_start] in "\ufe0f\u20e3":
            continue  # rule 3
        j = body_start
        has_letter = False
        while j < n:
            k = char_kind(text[j])
            if k == NONE:
                break
            has_letter = has_letter or k == LETTER
            j += 1
        i = j
        if not has_letter:
            continue  # rule 4
        rest = text[j:]
        if rest.startswith(("#", "\uff03", "://")):
            continue  # rule 5
        if rest.startswith("\u2026") and rest[1:].strip() == "":
            # Rust's trim_end strips White_Space; Python's strip also strips a few separators
            # (\x1c-\x1f) that are not White_Space: irrelevant for real texts.
            continue  # rule 7
        if in_url(text[:hash_at]):
            continue  # rule 6
        out.append(text[body_start:j])
    return out


def master_files(master_dir):
    """The Parquet files of the master dataset, and where the list came from: the newest manifest
    (`_manifest/<version>.json`, its `files[].path`), which is what lambda-trends reads (files an
    interrupted ingest left behind are not in it), else every `date=*/hour=*/*.parquet`."""
    manifests = sorted(glob.glob(os.path.join(master_dir, "_manifest", "*.json")))
    if manifests:
        with open(manifests[-1], encoding="utf-8") as fh:
            doc = json.load(fh)
        return [os.path.join(master_dir, f["path"]) for f in doc.get("files", [])], "manifest"
    return sorted(glob.glob(os.path.join(master_dir, "date=*", "hour=*", "*.parquet"))), "glob"


def hashtag_keys(text, given):
    if given is not None:
        keys = (normalize_hashtag(t.lstrip("#\uff03")) for t in given if t is not None)
        keys = [k for k in keys if k]
    else:
        keys = extract_hashtags(text or "")
    return set(keys)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--master-dir", required=True)
    ap.add_argument("--out", required=True, help="CSV file to write (hashtag,slot,count)")
    args = ap.parse_args()

    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    files, _listed_by = master_files(args.master_dir)
    counts = collections.Counter()
    rows = 0
    for f in files:
        table = pq.read_table(f, columns=["tweet", "hashtags", "timestamp"])
        for tweet, given, ts in zip(
            table.column("tweet").to_pylist(),
            table.column("hashtags").to_pylist(),
            table.column("timestamp").to_pylist(),
        ):
            rows += 1
            slot = ts - ts % SLOT_MILLIS  # Python's % floors, like div_euclid
            for key in hashtag_keys(tweet, given):
                counts[(key, slot)] += 1
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["hashtag", "slot", "count"])
        for (key, slot), n in sorted(counts.items()):
            w.writerow([key, slot, n])
    print(json.dumps({
        "engine": "python-reference",
        "parquet_files_in": len(files),
        "rows_in": rows,
        "rows_out": len(counts),
        "hashtag_post_pairs": sum(counts.values()),
        "wall_s": round(time.perf_counter() - t0, 3),
        "output": os.path.abspath(args.out),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
