"""The speed layer on Spark Structured Streaming: the thesis design's streaming job, for the
side-by-side benchmark.

Reads posts from a Kafka topic (lambda-trends writes them as Avro, single-object encoding:
C3 01 + the 8-byte schema fingerprint + the datum; or the Confluent wire format: 00 + a 4-byte
schema id + the datum), strips the framing header, decodes the datum with spark-avro's from_avro
and schemas/avro/post.avsc, extracts each post's distinct hashtag keys (hashtags.py, the same rules
as the batch job) and its 5-minute slot, and in foreachBatch groups by (hashtag, slot), counts
and collects the counts to the driver, where they are merged (the sink: the thesis upserted them
into Cassandra counters; here nothing is written, so the sink's cost is not measured).

    spark-submit --master 'local[2]' --packages <spark-sql-kafka>,<spark-avro> streaming.py \
        --bootstrap 127.0.0.1:9092 --topic ns.posts --schema schemas/avro/post.avsc \
        --max-offsets 10000 [--expect N] [--out counts.csv] [--report report.json]

Micro-batches are capped at --max-offsets records (maxOffsetsPerTrigger), read from the earliest
offset with Trigger.AvailableNow, so the query ends once the topic's records at start are done.
The report has every micro-batch's progress event (input rows, processed rows/s, trigger time
and its parts) and a summary; the first batch (JVM warm-up, planning) is left out of the summary's
medians and shown apart.
"""

import argparse
import collections
import csv
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.avro.functions import from_avro  # noqa: E402

import hashtags as H  # noqa: E402


def reader_schema(path):
    """post.avsc with the timestamp's logicalType dropped: the same long on the wire (so the
    same datum layout), decoded as epoch milliseconds instead of a Spark timestamp."""
    with open(path, encoding="utf-8") as fh:
        schema = json.load(fh)
    for field in schema["fields"]:
        if isinstance(field["type"], dict) and field["type"].get("logicalType") == "timestamp-millis":
            field["type"] = field["type"]["type"]
    return json.dumps(schema)


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--schema", required=True, help="schemas/avro/post.avsc")
    ap.add_argument("--max-offsets", type=int, required=True, help="maxOffsetsPerTrigger")
    ap.add_argument("--expect", type=int, default=None, help="records expected (checked)")
    ap.add_argument("--out", default=None, help="write the merged counts here (CSV hashtag,slot,count)")
    ap.add_argument("--report", default=None, help="write the JSON report here too")
    ap.add_argument("--shuffle-partitions", type=int, default=None,
                    help="spark.sql.shuffle.partitions (default: Spark's, 200, coalesced by AQE)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    builder = (
        SparkSession.builder.appName(f"lambda-trends-speed-{args.max_offsets}")
        .config("spark.sql.streaming.numRecentProgressUpdates", "100000")
    )
    if args.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    startup_s = time.perf_counter() - t0

    raw = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("subscribe", args.topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(args.max_offsets))
        .option("failOnDataLoss", "true")
        .load()
    )
    # Single-object encoding (C3 01 + 8-byte fingerprint) or Confluent framing (00 + 4-byte id).
    datum = F.expr(
        "CASE WHEN substring(value, 1, 2) = X'C301' THEN substring(value, 11) "
        "WHEN substring(value, 1, 1) = X'00' THEN substring(value, 6) END"
    )
    posts = raw.select(from_avro(datum, reader_schema(args.schema), {"mode": "FAILFAST"}).alias("p")).select("p.*")
    tagged = posts.select(
        F.explode(H.hashtag_keys(F.col("tweet"), F.col("hashtags"))).alias("hashtag"),
        H.slot(F.col("timestamp")).alias("slot"),
    )

    merged = collections.Counter()
    per_batch = {}

    def sink(batch_df, batch_id):
        rows = batch_df.groupBy("hashtag", "slot").count().collect()
        for r in rows:
            merged[(r["hashtag"], r["slot"])] += r["count"]
        per_batch[batch_id] = len(rows)

    checkpoint = tempfile.mkdtemp(prefix="lt-spark-ckpt-")
    try:
        t_query = time.perf_counter()
        query = (
            tagged.writeStream.foreachBatch(sink)
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()
        query_s = time.perf_counter() - t_query
        progress = [p for p in query.recentProgress if p.get("numInputRows", 0) > 0]
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)

    batches = []
    for p in progress:
        d = p.get("durationMs", {})
        batches.append({
            "batch_id": p["batchId"],
            "input_rows": p["numInputRows"],
            "processed_rows_per_s": round(p.get("processedRowsPerSecond") or 0.0, 1),
            "trigger_ms": d.get("triggerExecution"),
            "add_batch_ms": d.get("addBatch"),
            "get_batch_ms": d.get("getBatch"),
            "latest_offset_ms": d.get("latestOffset"),
            "query_planning_ms": d.get("queryPlanning"),
            "wal_commit_ms": d.get("walCommit"),
            "groups_collected": per_batch.get(p["batchId"]),
        })
    rows_in = sum(b["input_rows"] for b in batches)
    # Steady state: the batches after the first (warm-up) that are full (at least 90 % of the
    # cap; Kafka's source splits the cap over partitions, so a full batch can be a few short);
    # the last, partial batch of a run is left out too.
    steady = [b for b in batches[1:] if b["input_rows"] >= 0.9 * args.max_offsets]
    trig = [b["trigger_ms"] for b in steady if b["trigger_ms"] is not None]
    rates = [b["processed_rows_per_s"] for b in steady]
    steady_rows = sum(b["input_rows"] for b in steady)
    summary = {
        "max_offsets_per_trigger": args.max_offsets,
        "batches": len(batches),
        "rows_in": rows_in,
        "groups_merged": len(merged),
        "hashtag_post_pairs": sum(merged.values()),
        "query_wall_s": round(query_s, 3),
        "records_per_s_query_wall": round(rows_in / query_s, 1) if query_s > 0 else None,
        "first_batch": batches[0] if batches else None,
        "steady_batches": len(steady),
        "partial_batches": len(batches) - 1 - len(steady) if batches else 0,
        "steady_records_per_s": round(steady_rows / (sum(trig) / 1000), 1) if trig and sum(trig) > 0 else None,
        "steady_processed_rows_per_s_median": statistics.median(rates) if rates else None,
        "steady_batch_ms_median": statistics.median(trig) if trig else None,
        "steady_batch_ms_p95": pct(trig, 95),
        "steady_batch_ms_max": max(trig) if trig else None,
        "steady_batch_input_rows_median": statistics.median([b["input_rows"] for b in steady]) if steady else None,
    }
    conf = spark.sparkContext.getConf()
    report = {
        "engine": "spark",
        "job": "speed_layer_structured_streaming",
        "spark_version": spark.version,
        "master": conf.get("spark.master"),
        "packages": conf.get("spark.jars.packages", None),
        "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
        "topic": args.topic,
        "session_startup_s": round(startup_s, 3),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "summary": summary,
        "per_batch": batches,
    }
    spark.stop()

    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["hashtag", "slot", "count"])
            for (h, s), n in sorted(merged.items()):
                w.writerow([h, s, n])
    text = json.dumps(report)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(text)
    if args.expect is not None and rows_in != args.expect:
        print(f"streaming.py: read {rows_in} records, expected {args.expect}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
