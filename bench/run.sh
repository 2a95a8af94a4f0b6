#!/usr/bin/env bash
# Runs the micro-benchmarks and keeps the results: bench/results/<name>.json, with the machine, CPU,
# date, commit and command in Google Benchmark's "context". Five repetitions; mean, median, stddev and
# cv are reported per benchmark.
# Usage: bench/run.sh NAME [FILTER]   e.g. bench/run.sh probe 'Probe|Decode'
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/run.sh NAME [FILTER]}
filter=${2:-.}
scripts/build >/dev/null
mkdir -p bench/results
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//; s/,/;/g')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo "+changes" || true)
build/bench/ns_bench --benchmark_filter="$filter" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_out_format=json \
  --benchmark_out="bench/results/$name.json" \
  --benchmark_context="cpu=$cpu,cores=$(nproc),commit=$commit$dirty,command=bench/run.sh $name $filter"
echo "results: bench/results/$name.json"
