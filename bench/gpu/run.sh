#!/usr/bin/env bash
# Checks and times the norm-mlir GPU kernels on an NVIDIA GPU, in one command:
#
#   bench/gpu/run.sh [--artefacts DIR] [--no-compile] [--iters N]
#
# The kernels are generated beforehand on a machine with LLVM/MLIR (this one
# needs none), into build/bench-gpu by default:
#
#   PYTHONPATH=python python3 -m norm_mlir.gpu.generate --out build/bench-gpu
#
# Exits 0 when every kernel is correct, 1 when one is not, 2 when there is
# no GPU (or no artefacts) to run on.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}
exec timeout 295 "$python" "$here/run.py" --root "$root" "$@"
