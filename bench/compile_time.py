"""Compile time of K identical decomposed LayerNorms: ours against upstream.

    /usr/bin/python3 bench/compile_time.py [--counts 100 1000 2000]
        [--repeat 3] [--out bench/results/compile_time.md]

Builds a module of K functions, each one LayerNorm as torch-mlir writes
it (one linalg.generic per step; bench/capture_scaling.py's spelling) and
times, in the same run, the median of --repeat runs of

  ours:     norm-opt --norm-capture --norm-cpu-pipeline  (down to LLVM)
  upstream: mlir-opt --linalg-fuse-elementwise-ops
                     --one-shot-bufferize=bufferize-function-boundaries
                     --convert-linalg-to-loops

and counts the kernel functions in our output (the private functions
--norm-outline-kernels creates, one per distinct norm signature). The ratio
column is ours / upstream; issue 17's goal is at most 1.5 at K = 1000.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from capture_scaling import MAPS, torch_layer_norm  # noqa: E402
from norm_mlir.core import tools  # noqa: E402

UPSTREAM = ["--linalg-fuse-elementwise-ops",
            "--one-shot-bufferize=bufferize-function-boundaries",
            "--convert-linalg-to-loops"]
OURS = ["--norm-capture", "--norm-cpu-pipeline"]


def module(count):
    """`count` functions, each one decomposed LayerNorm, all identical."""
    lines = [MAPS]
    for i in range(count):
        lines.append(f"func.func @layer_norm_{i}(%x{i}: tensor<8x256xf32>, "
                     "%g: tensor<256xf32>, %b: tensor<256xf32>) -> tensor<8x256xf32> {")
        lines.append("""  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %ek = tensor.empty() : tensor<8x1xf32>
  %ef = tensor.empty() : tensor<8x256xf32>
  %acck = linalg.fill ins(%zero : f32) outs(%ek : tensor<8x1xf32>) -> tensor<8x1xf32>""")
        lines.append(torch_layer_norm(i))
        lines.append(f"  return %y{i} : tensor<8x256xf32>")
        lines.append("}")
    return "\n".join(lines) + "\n"


def timed(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(" ".join(cmd) + "\n" + proc.stderr[-2000:])
    return elapsed, proc.stdout


def count_kernels(llvm_ir):
    """Kernel functions: the private functions outlining created, and the
    norm ops left inline (none once outlining runs)."""
    return len(re.findall(r"llvm\.func (?:private )?@__norm_kernel", llvm_ir))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="also write the table (Markdown) here")
    parser.add_argument("--norm-opt", default=tools.norm_opt())
    parser.add_argument("--mlir-opt", default=os.path.join(
        os.environ.get("MLIR_TOOLS_DIR", "/usr/lib/llvm-22/bin"), "mlir-opt"))
    parser.add_argument("--ours", nargs="+", default=OURS,
                        help="our pass flags (default: %(default)s)")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.counts:
            path = os.path.join(tmp, f"layer_norms_{count}.mlir")
            with open(path, "w") as f:
                f.write(module(count))
            ours, upstream = [], []
            _, out = timed([args.norm_opt, path] + args.ours)
            kernels = count_kernels(out)
            if re.search(r"\bnorm\.(layer|rms)_norm", out):
                raise RuntimeError("norm ops left after our pipeline")
            # Interleaved, so that load from other jobs hits both alike.
            for _ in range(args.repeat):
                elapsed, _ = timed([args.norm_opt, path] + args.ours +
                                   ["-o", os.devnull])
                ours.append(elapsed)
                elapsed, _ = timed([args.mlir_opt, path] + UPSTREAM +
                                   ["-o", os.devnull])
                upstream.append(elapsed)
            ours_s, upstream_s = statistics.median(ours), statistics.median(upstream)
            rows.append((count, ours_s, upstream_s, ours_s / upstream_s, kernels))
            print(f"K={count}: ours {ours_s:.2f} s, upstream {upstream_s:.2f} s, "
                  f"ratio {ours_s / upstream_s:.2f}, kernel functions {kernels}",
                  file=sys.stderr)

    table = ["| norms | ours (s) | upstream (s) | ours / upstream | kernel functions |",
             "|---:|---:|---:|---:|---:|"]
    for count, ours_s, upstream_s, ratio, kernels in rows:
        table.append(f"| {count} | {ours_s:.2f} | {upstream_s:.2f} | {ratio:.2f} | {kernels} |")
    text = "\n".join(table)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(f"Median of {args.repeat} runs; ours: {' '.join(args.ours)}; "
                    f"upstream: {' '.join(UPSTREAM)}.\n\n{text}\n")


if __name__ == "__main__":
    main()
