#!/usr/bin/env bash
# Installs the Spark side of the side-by-side benchmark: a Python venv with a pinned PySpark
# (which bundles Spark itself, Scala 2.12 build) and pyarrow (for the reference view and
# compare.py). Idempotent: a venv that already has the pinned versions is left as it is.
#
#   benches/spark/setup.sh            # prints the venv's path on its last line
#
# Needs python3 (with venv) and Java 17 (`java` on PATH or JAVA_HOME). The Kafka and Avro
# connectors are not installed here: spark-submit's --packages resolves them from Maven Central
# (cached in ~/.ivy2) on the first streaming run.
set -euo pipefail

PYSPARK_VERSION=3.5.7
PYARROW_VERSION=17.0.0

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-trends"
VENV="$CACHE/spark-venv"
STAMP="$VENV/.lambda-trends-pins"
WANT="pyspark==$PYSPARK_VERSION pyarrow==$PYARROW_VERSION"

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  echo "setup.sh: Java 17 is needed (java on PATH or JAVA_HOME)" >&2
  exit 1
fi

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
  && "$VENV/bin/python" -c 'import pyspark, pyarrow' >/dev/null 2>&1; then
  echo "setup.sh: $VENV already has $WANT" >&2
  echo "$VENV"
  exit 0
fi

mkdir -p "$CACHE"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $WANT
echo "$WANT" >"$STAMP"
"$VENV/bin/python" -c 'import pyspark, pyarrow; print("pyspark", pyspark.__version__, "pyarrow", pyarrow.__version__)' >&2
echo "$VENV"
