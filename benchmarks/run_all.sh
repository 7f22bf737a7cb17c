#!/usr/bin/env bash
# Runs every benchmark in sequence (they share 2 cores: never in parallel) and keeps their JSON.
#   bash benchmarks/run_all.sh            (about 60 minutes on 2 cores)
set -u
cd "$(dirname "$0")"
PY=../.venv/bin/python
mkdir -p out
$PY bench_ingest.py --db /tmp/medcite-bench.db > out/ingest.json 2> out/ingest.err
$PY bench_pubmed.py --n 100000 > out/pubmed.json 2> out/pubmed.err
$PY bench_fuzz.py --out out/fuzz.json > out/fuzz.log 2>&1
$PY bench_lexical.py --source-db /tmp/medcite-bench.db --scale-db /tmp/scale-1m.db --queries 300 --engines tantivy,fts5 > out/lexical.json 2> out/lexical.err
$PY bench_hybrid_scale.py --scale-db /tmp/scale-1m.db --queries 300 > out/hybrid_scale.json 2> out/hybrid_scale.err
$PY bench_embed.py --n 1000 --questions 50 --candidates onnx-int8pc --no-quality > out/embed.json 2> out/embed.err
$PY bench_vector.py --n 1000000 --dim 384 --skip-exact > out/vector.json 2> out/vector.err
$PY bench_web.py --db /tmp/medcite-bench.db --seconds 120 > out/web.json 2> out/web.err
# answer quality and latency on the four question sets (lexical store as built above; docs/evaluation.md)
for set in dev holdout test fresh; do
  ../.venv/bin/medcite --db /tmp/medcite-bench.db eval answers --questions ../eval/answers_$set.jsonl --json \
    > out/answers_$set.json 2> out/answers_$set.err
done
