"""The batch layer's view on Spark: the thesis design's batch job, for the side-by-side benchmark.

Reads the lambda-trends master dataset (Parquet, <master>/date=YYYY-MM-DD/hour=HH/*.parquet,
schema in crates/views/src/master.rs; the files the newest _manifest/*.json lists, as ours does,
else every such file) and computes what crates/views/src/batch.rs's batch_view
computes over all rows (no cut): for each post its distinct normalised hashtags (hashtags.py) and
5-minute slot, grouped by (hashtag, slot), the number of posts. Writes (hashtag, slot, count) and
prints one JSON object of timings on stdout.

    spark-submit --master 'local[2]' batch_view.py --master-dir DIR --out DIR [--format csv|parquet]
        [--repeat N] [--nfkc] [--shuffle-partitions N]

Timed: from spark.read.parquet to the output written (read + compute + write: one Spark job
chain, since Spark is lazy), once per repeat in the same session; the first run pays the JVM's
warm-up. Not timed: starting the session, and counting rows in (Parquet metadata) and out.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

import hashtags as H  # noqa: E402
from reference_view import master_files  # noqa: E402


def read_master(spark, files, master_dir):
    return spark.read.option("basePath", master_dir).parquet(*files)


def view(spark, files, master_dir, nfkc):
    posts = read_master(spark, files, master_dir).select("tweet", "hashtags", "timestamp")
    tagged = posts.select(
        F.explode(H.hashtag_keys(F.col("tweet"), F.col("hashtags"), nfkc)).alias("hashtag"),
        H.slot(F.col("timestamp")).alias("slot"),
    )
    return tagged.groupBy("hashtag", "slot").agg(F.count(F.lit(1)).cast("bigint").alias("count"))


def write(df, out, fmt):
    if os.path.exists(out):
        shutil.rmtree(out)
    w = df.write.mode("overwrite")
    if fmt == "csv":
        w.option("header", True).csv(out)
    else:
        w.parquet(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--master-dir", required=True, help="the master dataset (the dir holding date=...)")
    ap.add_argument("--out", required=True, help="output directory (replaced)")
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs in one session (default 5)")
    ap.add_argument("--nfkc", action="store_true", help="exact NFKC normalisation (a Python UDF)")
    ap.add_argument("--shuffle-partitions", type=int, default=None,
                    help="spark.sql.shuffle.partitions (default: Spark's, 200, coalesced by AQE)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    builder = SparkSession.builder.appName("lambda-trends-batch-view")
    if args.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    startup_s = time.perf_counter() - t0

    master_dir = os.path.abspath(args.master_dir)
    files, listed_by = master_files(master_dir)
    if not files:
        raise SystemExit(f"batch_view.py: no Parquet file in {master_dir}")
    runs = []
    for i in range(args.repeat):
        t = time.perf_counter()
        write(view(spark, files, master_dir, args.nfkc), args.out, args.format)
        runs.append(round(time.perf_counter() - t, 3))
        print(f"batch_view: run {i + 1}/{args.repeat}: {runs[-1]:.3f} s", file=sys.stderr)

    rows_in = read_master(spark, files, master_dir).count()
    if args.format == "csv":
        result = spark.read.option("header", True).csv(args.out)
    else:
        result = spark.read.parquet(args.out)
    rows_out = result.count()
    posts_counted = result.agg(F.sum(F.col("count").cast("bigint"))).first()[0] or 0
    conf = spark.sparkContext.getConf()
    report = {
        "engine": "spark",
        "job": "batch_view",
        "spark_version": spark.version,
        "master": conf.get("spark.master"),
        "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
        "nfkc_udf": args.nfkc,
        "master_dir": master_dir,
        "parquet_files_in": len(files),
        "files_listed_by": listed_by,
        "rows_in": rows_in,
        "rows_out": rows_out,
        "hashtag_post_pairs": int(posts_counted),
        "session_startup_s": round(startup_s, 3),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "runs_s": runs,
        "first_s": runs[0] if runs else None,
        "warm_median_s": statistics.median(runs[1:]) if len(runs) > 1 else None,
        "best_s": min(runs) if runs else None,
        "rows_in_per_s_best": round(rows_in / min(runs)) if runs and min(runs) > 0 else None,
        "output": os.path.abspath(args.out),
        "format": args.format,
    }
    spark.stop()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
