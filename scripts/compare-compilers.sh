#!/usr/bin/env bash
# Checks that the IR norm-opt emits does not depend on the C++ compiler that
# built it: runs two builds' norm-opt (by default ./build, made with clang by
# scripts/build.sh, and ./build-gcc, made with GCC) on the same inputs and
# diffs their outputs.
#
#   scripts/compare-compilers.sh [BUILD_A [BUILD_B]]
#
# (build directories relative to the repository root, or absolute).
#
# Inputs: every .mlir file under test/, examples/ and the fuzzer's corpus,
# each with
#   - the norm-opt command of each of its RUN lines (the part before the
#     first pipe, `-o FILE` dropped so the IR comes to stdout), and
#   - for the files under test/Conversion, test/Pipelines and examples/, a
#     fixed list of pipelines (-split-input-file where the file has
#     `// -----`).
# Each case compares the exit status and stdout; stderr too when both runs
# succeed (remarks, warnings), not when they fail the same way. The
# timings GPU binaries record (`LLVMIRToISATimeInMs`, `ISAToBinaryTimeInMs`)
# are ignored.
#
# Such differences come from C++ leaving the evaluation order of a call's
# arguments unspecified: `foo(A::create(b, ...), B::create(b, ...))` inserts
# the two ops in one order with clang and in the other with GCC. Prints the
# differing cases and exits 1 if there are any.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:-build}
B=${2:-build-gcc}
for dir in "$A" "$B"; do
  if [[ ! -x "$dir/bin/norm-opt" ]]; then
    echo "compare-compilers: no $dir/bin/norm-opt (build it first)" >&2
    exit 2
  fi
done

exec /usr/bin/python3 - "$A/bin/norm-opt" "$B/bin/norm-opt" <<'EOF'
import concurrent.futures
import difflib
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import time

opt_a, opt_b = sys.argv[1], sys.argv[2]

FIXED_PIPELINES = [
    ["--convert-norm-to-linalg"],
    ["--convert-norm-to-affine"],
    ["--norm-cpu-pipeline"],
    ["--convert-norm-to-gpu"],
    ["--norm-gpu-pipeline=chip=sm_90 format=isa"],
    ["--norm-capture"],
    ["--norm-fuse"],
]
FIXED_DIRS = ["test/Conversion", "test/Pipelines", "examples"]
RUN_DIRS = ["test", "examples", "tools/norm-fuzz/corpus"]


def run_lines(text):
    """The RUN lines of a lit test, continuations joined."""
    lines, current = [], ""
    for line in text.splitlines():
        m = re.match(r"\s*//\s*RUN:(.*)$", line)
        if not m:
            continue
        part = m.group(1).strip()
        if part.endswith("\\"):
            current += part[:-1] + " "
            continue
        lines.append(current + part)
        current = ""
    return lines


def norm_opt_args(command, path, scratch):
    """The arguments of the norm-opt command of a RUN line, or None."""
    segment = command.split("|")[0]
    try:
        tokens = shlex.split(segment)
    except ValueError:
        return None
    if tokens and tokens[0] == "not":
        tokens = tokens[1:]
    if not tokens or tokens[0] != "norm-opt":
        return None
    args, skip = [], False
    for token in tokens[1:]:
        if skip:
            skip = False
            continue
        if token == "-o":
            skip = True
            continue
        if re.fullmatch(r"\d?>&?\d?", token) or token.startswith("2>"):
            continue
        token = token.replace("%s", path).replace("%t", scratch)
        if "%" in token:
            return None
        args.append(token)
    return args


def collect(scratch):
    cases = set()
    for root in RUN_DIRS:
        for path in sorted(pathlib.Path(root).rglob("*.mlir")):
            text = path.read_text()
            for command in run_lines(text):
                args = norm_opt_args(command, str(path), scratch)
                if args is not None:
                    cases.add(tuple(args))
    for root in FIXED_DIRS:
        for path in sorted(pathlib.Path(root).rglob("*.mlir")):
            split = ["-split-input-file"] if "// -----" in path.read_text() else []
            for pipeline in FIXED_PIPELINES:
                cases.add(tuple([str(path)] + pipeline + split))
    return sorted(cases)


TIMING = re.compile(r"\b(LLVMIRToISA|ISAToBinary)TimeInMs\s*=\s*\d+\s*:\s*i64,?\s*")


def run(binary, args):
    try:
        p = subprocess.run([binary] + list(args), capture_output=True,
                           text=True, errors="replace", timeout=300)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", ""
    return rc, TIMING.sub("", out), err


def show_diff(what, a, b):
    """The start of a unified diff of `a` and `b`, long lines cut."""
    lines = difflib.unified_diff(a.splitlines(), b.splitlines(), opt_a, opt_b,
                                 n=2, lineterm="")
    cut = [line if len(line) <= 160 else line[:160] + "..."
           for line in list(lines)[:40]]
    return what + " differs:\n" + "\n".join(cut)


def compare(args):
    ra, rb = run(opt_a, args), run(opt_b, args)
    problems = []
    if ra[0] != rb[0]:
        problems.append(f"exit status {ra[0]} vs {rb[0]}")
    if ra[1] != rb[1]:
        problems.append(show_diff("stdout", ra[1], rb[1]))
    if ra[0] == 0 and rb[0] == 0 and ra[2] != rb[2]:
        problems.append(show_diff("stderr", ra[2], rb[2]))
    return args, ra[0] == 0, problems


start = time.time()
with tempfile.TemporaryDirectory(prefix="norm-compare-") as scratch:
    cases = collect(os.path.join(scratch, "t"))
    jobs = max(1, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(compare, cases))

ok = sum(1 for _, succeeded, _ in results if succeeded)
differing = [(args, problems) for args, _, problems in results if problems]
for args, problems in differing:
    print("DIFF: norm-opt " + shlex.join(args))
    for problem in problems:
        print("  " + problem.replace("\n", "\n  "))
print(f"compare-compilers: {len(cases)} cases ({ok} succeeding, "
      f"{len(cases) - ok} failing alike or not), {len(differing)} differing "
      f"between {opt_a} and {opt_b} ({time.time() - start:.0f} s)")
sys.exit(1 if differing else 0)
EOF
