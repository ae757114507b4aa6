#!/usr/bin/env bash
# Runs the norm-fuzz libFuzzer target for a given time.
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#
# Needs a build configured with
#   cmake -G Ninja -S . -B build-asan -DCMAKE_C_COMPILER=clang-22 \
#     -DCMAKE_CXX_COMPILER=clang++-22 \
#     -DNORM_ENABLE_SANITIZERS="address;undefined" -DNORM_ENABLE_FUZZER=ON
# (BUILD_DIR, default build-asan). The seed corpus is made afresh from every
# test/**/*.mlir (split at `// -----`) plus tools/norm-fuzz/corpus; the
# corpus the fuzzer grows lives in $BUILD_DIR/fuzz/corpus and is kept between
# runs. Crashes land in $BUILD_DIR/fuzz/artifacts; replay one with
#   $BUILD_DIR/bin/norm-fuzz $BUILD_DIR/fuzz/artifacts/crash-...
# Runs at the lowest priority (the build machines are shared).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
SECONDS_TO_RUN=${1:-60}
shift || true
FUZZER="$BUILD_DIR/bin/norm-fuzz"
if [[ ! -x "$FUZZER" ]]; then
  echo "fuzz.sh: $FUZZER not built (configure with -DNORM_ENABLE_FUZZER=ON," \
       "then ninja -C $BUILD_DIR norm-fuzz)" >&2
  exit 1
fi

OUT="$BUILD_DIR/fuzz"
SEEDS="$OUT/seeds"
mkdir -p "$OUT/corpus" "$OUT/artifacts"
rm -rf "$SEEDS"
/usr/bin/python3 tools/norm-fuzz/make_seeds.py "$SEEDS" test tools/norm-fuzz/corpus

echo "fuzz.sh: $(ls "$SEEDS" | wc -l) seeds, $(ls "$OUT/corpus" | wc -l) corpus" \
     "entries, ${SECONDS_TO_RUN}s" >&2
exec nice -n 19 "$FUZZER" "$OUT/corpus" "$SEEDS" \
  -max_total_time="$SECONDS_TO_RUN" \
  -dict=tools/norm-fuzz/norm.dict \
  -artifact_prefix="$OUT/artifacts/" \
  -timeout=60 -rss_limit_mb=4096 -max_len=16384 \
  -print_final_stats=1 "$@"
