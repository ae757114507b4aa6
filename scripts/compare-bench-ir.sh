#!/usr/bin/env bash
# Checks that two builds of norm-opt lower the benchmark and test kernels to
# the same code: what a refactoring of the lowerings must not change, beyond
# the test inputs that scripts/compare-compilers.sh runs.
#
#   scripts/compare-bench-ir.sh BUILD_A [BUILD_B]
#
# (build directories relative to the repository root, or absolute; BUILD_B
# defaults to ./build). Compares, in three sections:
#
#   bench   the benchmark kernels (bench/kernels.py `module(configs,
#           prefix)` for every configuration of bench/run.py) through
#           --norm-cpu-pipeline, with and without openmp=true, then
#           `mlir-translate --mlir-to-llvmir`: the LLVM IR;
#   ptx     test/Integration/GPU/ptxas.mlir and ptxas-fused.mlir through
#           --norm-gpu-pipeline="chip=sm_90 format=isa": the PTX (the
#           LLVMIRToISATimeInMs timing attribute ignored);
#   sweeps  the kernels of every named case sweep of the integration tests
#           (python/norm_mlir/testing/sweeps.py), one module per sweep,
#           through the reference, CPU and GPU lowerings alone (after
#           bufferization) and through the pipelines, with several options.
#
# Each case compares the exit status and stdout. Prints the differing cases
# and exits 1 if there are any.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?usage: scripts/compare-bench-ir.sh BUILD_A [BUILD_B]}
B=${2:-build}
for dir in "$A" "$B"; do
  if [[ ! -x "$dir/bin/norm-opt" ]]; then
    echo "compare-bench-ir: no $dir/bin/norm-opt (build it first)" >&2
    exit 2
  fi
done

exec /usr/bin/python3 - "$A/bin/norm-opt" "$B/bin/norm-opt" <<'EOF'
import concurrent.futures
import difflib
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, "bench")
sys.path.insert(0, "python")
import kernels  # noqa: E402
import run as bench_run  # noqa: E402
from norm_mlir.testing import harness  # noqa: E402
from norm_mlir.testing.norm_cases import NormCase  # noqa: E402
from norm_mlir.testing.sweeps import SWEEPS  # noqa: E402

opt_a, opt_b = sys.argv[1], sys.argv[2]
TRANSLATE = "/usr/lib/llvm-22/bin/mlir-translate"
TIMING = re.compile(r"\b(LLVMIRToISA|ISAToBinary)TimeInMs\s*=\s*\d+\s*:\s*i64,?\s*")
BUFFERIZE = "--one-shot-bufferize=bufferize-function-boundaries"
# Identity layouts at function boundaries, as the pipelines bufferize: the
# GPU lowering refuses the fully dynamic layouts of the default.
BUFFERIZE_IDENTITY = ("--one-shot-bufferize=bufferize-function-boundaries "
                      "function-boundary-type-conversion=identity-layout-map")

SWEEP_PIPELINES = [
    ["--convert-norm-to-linalg"],
    harness.PIPELINES["linalg"],
    [BUFFERIZE, "--convert-norm-to-affine"],
    [BUFFERIZE, "--convert-norm-to-affine=nontemporal-threshold=0"],
    [BUFFERIZE, "--convert-norm-to-affine=vector-width=4 unroll=1 "
                "one-pass-variance=false prefetch=false"],
    [BUFFERIZE, "--convert-norm-to-affine=parallel=false vector-width=8"],
    [BUFFERIZE_IDENTITY, "--convert-norm-to-affine=nontemporal-threshold=0"],
    ["--norm-cpu-pipeline"],
    ["--norm-cpu-pipeline=openmp=true"],
    ["--norm-cpu-pipeline=nontemporal-threshold=0 vector-width=8"],
    [BUFFERIZE_IDENTITY, "--convert-norm-to-gpu"],
    [BUFFERIZE_IDENTITY, "--convert-norm-to-gpu=block-size=128 vector-width=2"],
    [BUFFERIZE_IDENTITY, "--convert-norm-to-gpu=rows-per-block=4"],
    ["--norm-gpu-pipeline=chip=sm_90 format=isa"],
]


def run(binary, args, translate=False):
    try:
        p = subprocess.run([binary] + list(args), capture_output=True,
                           text=True, errors="replace", timeout=600)
        rc, out = p.returncode, p.stdout
        if translate and rc == 0:
            t = subprocess.run([TRANSLATE, "--mlir-to-llvmir"], input=out,
                               capture_output=True, text=True,
                               errors="replace", timeout=600)
            rc, out = ("translate", t.returncode), t.stdout
    except subprocess.TimeoutExpired:
        rc, out = "timeout", ""
    return rc, TIMING.sub("", out)


def compare(case):
    name, args, translate = case
    ra, rb = run(opt_a, args, translate), run(opt_b, args, translate)
    problems = []
    if ra[0] != rb[0]:
        problems.append(f"exit status {ra[0]} vs {rb[0]}")
    if ra[1] != rb[1]:
        lines = difflib.unified_diff(ra[1].splitlines(), rb[1].splitlines(),
                                     opt_a, opt_b, n=2, lineterm="")
        cut = [l if len(l) <= 160 else l[:160] + "..." for l in list(lines)[:40]]
        problems.append("output differs:\n" + "\n".join(cut))
    ok = ra[0] in (0, ("translate", 0))
    return name, ok, len(ra[1].splitlines()), problems


start = time.time()
with tempfile.TemporaryDirectory(prefix="norm-compare-ir-") as scratch:
    cases = []
    configs = bench_run.configs_for(bench_run.SHAPES, bench_run.OPS)
    bench = os.path.join(scratch, "bench.mlir")
    with open(bench, "w") as f:
        f.write(kernels.module(configs, "norm"))
    for options in ["", "=openmp=true"]:
        cases.append((f"bench{options}", [bench, f"--norm-cpu-pipeline{options}"],
                      True))
    for test in ["ptxas.mlir", "ptxas-fused.mlir"]:
        path = os.path.join("test/Integration/GPU", test)
        cases.append((f"ptx {test}",
                      [path, "--norm-gpu-pipeline=chip=sm_90 format=isa"], False))
    for sweep, specs in SWEEPS.items():
        path = os.path.join(scratch, f"sweep-{sweep}.mlir")
        with open(path, "w") as f:
            f.write("\n".join(NormCase.parse(spec).kernel_ir(f"kernel_{i}")
                              for i, spec in enumerate(specs)))
        for pipeline in SWEEP_PIPELINES:
            cases.append((f"sweep {sweep}: {' '.join(pipeline)}",
                          [path] + list(pipeline), False))
    jobs = max(1, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(compare, cases))

differing = [(name, problems) for name, _, _, problems in results if problems]
for name, problems in differing:
    print("DIFF: " + name)
    for problem in problems:
        print("  " + problem.replace("\n", "\n  "))
for name, succeeded, _, _ in results:
    if not succeeded:
        print("failing (in A): " + name)
ok = sum(1 for _, succeeded, _, _ in results if succeeded)
lines = sum(n for _, _, n, _ in results)
print(f"compare-bench-ir: {len(cases)} cases ({ok} succeeding, "
      f"{len(cases) - ok} failing alike or not; {lines} lines of output), "
      f"{len(differing)} differing between {opt_a} and {opt_b} "
      f"({time.time() - start:.0f} s)")
sys.exit(1 if differing else 0)
EOF
