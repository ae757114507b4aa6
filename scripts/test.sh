#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine if needed, builds, and runs every test:
# the lit suite (check-norm) and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
ninja -C "${BUILD_DIR:-build}" check-norm
if [[ -d python/tests ]]; then
  PYTHONPATH=python NORM_BUILD_DIR="$PWD/${BUILD_DIR:-build}" \
    /usr/bin/python3 -m pytest -q python/tests
fi
