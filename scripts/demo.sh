#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine if needed, builds, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
PYTHONPATH=python NORM_OPT="$PWD/${BUILD_DIR:-build}/bin/norm-opt" \
  /usr/bin/python3 python/examples/demo.py "$@"
