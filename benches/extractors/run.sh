#!/usr/bin/env bash
# Issue #14's comparison of main-text extractors (BENCHMARKS.md, "Issue #14"): dom_smoothie,
# rs-trafilatura, readability, legible and a no-extraction baseline on the drift corpus and on
# 200 of the generated 44 KB HTML pages. A project of its own: it builds nothing of linkkeep.
#
#   benches/extractors/run.sh      # writes quality.tsv, html-check.tsv, timing.tsv beside it
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BENCHES=$(dirname "$HERE")
SCRATCH=${TMPDIR:-/tmp}/linkkeep-extractors
cd "$HERE"
python3 "$BENCHES/drift.py" "$SCRATCH/drift-corpus" 200             # 200 articles x 9 pages, deterministic
python3 "$BENCHES/gen.py" html-files 200 "$SCRATCH/html-corpus"     # = the first 200 of benches/.data/html-v1
cargo build --release -j1
./target/release/extractors quality "$SCRATCH/drift-corpus" "$SCRATCH/out" > quality.tsv
./target/release/extractors html-check "$SCRATCH/html-corpus/html-v1" "$SCRATCH/out-html" > html-check.tsv
uptime > timing.load
./target/release/extractors timing "$SCRATCH/drift-corpus" "$SCRATCH/html-corpus/html-v1" 3 > timing.tsv 2> timing.err
uptime >> timing.load
# Transitive dependencies of each crate alone (resolution only, nothing is built):
for d in deps/*/; do
  (cd "$d" && cargo generate-lockfile -q &&
   echo "$(basename "$d"): raw $(cargo tree -e normal --prefix none | sort -u | wc -l)," \
        "unique crates $(cargo tree -e normal --prefix none | sed 's/ (\*)$//' | sort -u | grep -vc '^deps-')")
done
cat quality.tsv html-check.tsv timing.tsv
