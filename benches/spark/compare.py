"""Compares two batch-view results: (hashtag, slot, count) rows, as CSV or Parquet.

    python compare.py A B [--json] [--show N]

A and B are each a CSV file (header hashtag,slot,count: what lambda-trends and reference_view.py
write), a Parquet file, or a directory of either (what Spark writes: part-*.csv / part-*.parquet;
files starting with '_' or '.' are skipped). Rows are keyed by (hashtag, slot); a key present
twice in one result is itself reported (counts are then summed). Exits 0 when both hold the same
keys with the same counts, 1 when they differ, 2 on a usage or read error.
"""

import argparse
import collections
import json
import os
import sys


def _files(path):
    if os.path.isdir(path):
        out = []
        for root, _dirs, files in os.walk(path):
            for f in sorted(files):
                if f.startswith(("_", ".")) or f.endswith(".crc"):
                    continue
                if f.endswith((".csv", ".parquet")):
                    out.append(os.path.join(root, f))
        return sorted(out)
    return [path]


def load(path):
    """{(hashtag, slot): count}, and the number of duplicate keys."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    counts = collections.Counter()
    rows = 0
    dups = 0
    files = _files(path)
    if not files:
        raise SystemExit(f"compare.py: no .csv or .parquet file under {path}")
    for f in files:
        if f.endswith(".parquet"):
            t = pq.read_table(f, columns=["hashtag", "slot", "count"])
        else:
            t = pcsv.read_csv(
                f,
                read_options=pcsv.ReadOptions(encoding="utf8"),
                convert_options=pcsv.ConvertOptions(
                    column_types={"hashtag": pa.string(), "slot": pa.int64(), "count": pa.int64()},
                    include_columns=["hashtag", "slot", "count"],
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        for h, s, c in zip(*(t.column(n).to_pylist() for n in ("hashtag", "slot", "count"))):
            key = (h, int(s))
            if key in counts:
                dups += 1
            counts[key] += int(c)
            rows += 1
    return counts, rows, dups


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ap.add_argument("--show", type=int, default=10, help="differences to list (default 10)")
    args = ap.parse_args()

    a, rows_a, dups_a = load(args.a)
    b, rows_b, dups_b = load(args.b)
    only_a = sorted(k for k in a if k not in b)
    only_b = sorted(k for k in b if k not in a)
    differ = sorted(k for k in a if k in b and a[k] != b[k])
    equal = not (only_a or only_b or differ or dups_a or dups_b)
    report = {
        "equal": equal,
        "a": {"path": args.a, "rows": rows_a, "keys": len(a), "duplicate_keys": dups_a,
              "total_count": sum(a.values())},
        "b": {"path": args.b, "rows": rows_b, "keys": len(b), "duplicate_keys": dups_b,
              "total_count": sum(b.values())},
        "only_in_a": len(only_a),
        "only_in_b": len(only_b),
        "count_differs": len(differ),
        "examples": {
            "only_in_a": [[h, s, a[(h, s)]] for h, s in only_a[: args.show]],
            "only_in_b": [[h, s, b[(h, s)]] for h, s in only_b[: args.show]],
            "count_differs": [[h, s, a[(h, s)], b[(h, s)]] for h, s in differ[: args.show]],
        },
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for side in ("a", "b"):
            r = report[side]
            print(f"{side}: {r['path']}: {r['rows']} rows, {r['keys']} keys, "
                  f"{r['duplicate_keys']} duplicate keys, counts sum to {r['total_count']}")
        if equal:
            print("EQUAL: same (hashtag, slot) keys with the same counts")
        else:
            print(f"DIFFERENT: {len(only_a)} keys only in a, {len(only_b)} only in b, "
                  f"{len(differ)} with different counts")
            for h, s, n in report["examples"]["only_in_a"]:
                print(f"  only in a: {h!r} slot {s}: {n}")
            for h, s, n in report["examples"]["only_in_b"]:
                print(f"  only in b: {h!r} slot {s}: {n}")
            for h, s, x, y in report["examples"]["count_differs"]:
                print(f"  differs:   {h!r} slot {s}: a {x}, b {y}")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
