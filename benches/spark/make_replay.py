"""Turns a master dataset of synthetic posts into an X API v2 replay file spread over H hours.

    python make_replay.py --master-dir DIR --hours 24 --out posts.jsonl

The synthetic collector stamps posts with the wall time they are made, so a dataset generated as
fast as possible falls into one or two 5-minute slots. This keeps the posts (text, author, ids)
in log order and re-stamps them evenly over H hours from the start of the first post's UTC day,
written as X API v2 stream lines for `lambda-trends collect --file F --rate 0` (collector/src/x_v2.rs).
Every other post carries `entities.hashtags` (the tags the extractor finds in its text, so the
counts do not change; possibly an empty list), so the dataset exercises both ways a post's tags
are found: the `hashtags` column when the source gave it, extraction from the text when it is null.
"""

import argparse
import glob
import json
import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_view as R  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--master-dir", required=True)
    ap.add_argument("--hours", type=float, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted(glob.glob(os.path.join(args.master_dir, "date=*", "hour=*", "*.parquet")))
    cols = ["userid", "username", "timestamp", "tweetid", "tweet", "lang", "hashtags", "partition", "offset"]
    t = pa.concat_tables([pq.read_table(f, columns=cols) for f in files])
    # Log order: by timestamp, then partition and offset (stable, deterministic).
    t = t.take(pc.sort_indices(t, sort_keys=[("timestamp", "ascending"), ("partition", "ascending"),
                                             ("offset", "ascending")]))
    n = t.num_rows
    first = t.column("timestamp")[0].as_py()
    start = first - first % 86_400_000
    span = int(args.hours * 3_600_000)
    with open(args.out, "w", encoding="utf-8") as fh:
        for i, (uid, name, tid, text, lang, given) in enumerate(zip(
            *(t.column(c).to_pylist() for c in ("userid", "username", "tweetid", "tweet", "lang", "hashtags"))
        )):
            ts = start + (i * span) // max(n, 1)
            data = {
                "id": str(tid),
                "text": text,
                "created_at": datetime.fromtimestamp(ts / 1000, tz=timezone.utc)
                .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "author_id": str(uid),
            }
            if lang:
                data["lang"] = lang
            if i % 2 == 0:
                tags = given if given is not None else R.extract_displays(text)
                data["entities"] = {"hashtags": [{"tag": tag} for tag in tags]}
            line = {"data": data, "includes": {"users": [{"id": str(uid), "username": name}]}}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(json.dumps({"posts": n, "hours": args.hours, "from_ms": start, "to_ms": start + span,
                      "out": os.path.abspath(args.out)}))


if __name__ == "__main__":
    main()
