"""Benchmarks norm-mlir's CPU kernels at decode shapes: 1 to 64 rows.

    /usr/bin/python3 bench/decode.py           # 1-64 rows x N 4096, 8192; ~2 min
    /usr/bin/python3 bench/decode.py --quick   # 1, 8 and 64 rows at N 4096
    /usr/bin/python3 bench/decode.py --static  # kernels over static shapes

A serving engine normalises a decode step's few tokens at a time, with the
token count dynamic. This builds the forward kernels over ?xN (with
--static, one per shape) through bench/run.py's build and driver and times,
per call, interleaved in one process:

  norm      norm-mlir (serial pipeline at 1 thread, openmp=true above)
  onednn    oneDNN 2.6 layer_normalization (LayerNorm only)
  memcpy    a copy of the same bytes
  always    norm-mlir with parallel-threshold=0: OpenMP threads whatever
            the size (at 1 thread the same code as norm)
  noop      an empty call: the floor of the timing (two clock reads)

The buffers are reused call after call, so they are in cache, as a decode
step's activations are. Prints per-call times in microseconds (medians)
and the ratios, writes bench/out/decode/results.md and results.json.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kernels  # noqa: E402
import run as fwd  # noqa: E402
from norm_mlir.core import tools  # noqa: E402

ROWS = [1, 2, 4, 8, 16, 32, 64]
NS = [4096, 8192]
QUICK_ROWS = [1, 8, 64]
QUICK_NS = [4096]
DTYPES = ["f32", "bf16"]
IMPLS = ["norm", "onednn", "memcpy", "noop"]
LABELS = {"norm": "norm-mlir", "onednn": "oneDNN", "memcpy": "memcpy",
          "v_always": "always parallel", "noop": "empty call"}


def table(results, threads):
    """A markdown table of per-call microseconds at `threads` threads."""
    by = {}
    for r in results:
        if r["threads"] == threads:
            by.setdefault((r["op"], r["dtype"], r["n"], r["rows"]),
                          {})[r["impl"]] = r["median_s"] * 1e6
    impls = ["norm", "onednn", "memcpy", "v_always"]
    head = ["op", "dtype", "shape"] + [f"{LABELS[i]} us" for i in impls] + [
        "norm vs oneDNN", "norm / memcpy time"]
    if threads > 1:
        head.append("always parallel / norm time")
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    floor = []
    for (op, dtype, n, rows), times in sorted(by.items()):
        cells = [op, dtype, f"{rows}x{n}"]
        cells += [f"{times[i]:.2f}" if i in times else "n/a" for i in impls]
        norm = times["norm"]
        cells.append(f"{times['onednn'] / norm:.2f}x" if "onednn" in times
                     else "n/a")
        cells.append(f"{norm / times['memcpy']:.2f}x")
        if threads > 1:
            cells.append(f"{times['v_always'] / norm:.2f}x"
                         if "v_always" in times else "n/a")
        if "noop" in times:
            floor.append(times["noop"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n", (min(floor) if floor else None)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--static", action="store_true",
                        help="kernels over static shapes instead of ?xN")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ops", nargs="+", default=fwd.OPS, choices=fwd.OPS)
    parser.add_argument("--dtypes", nargs="+", default=DTYPES, choices=DTYPES)
    parser.add_argument("--norm-opt", default=tools.norm_opt())
    parser.add_argument("--norm-options", default="",
                        help="extra --norm-cpu-pipeline options")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--min-reps", type=int, default=200)
    parser.add_argument("--out", default=os.path.join(HERE, "out", "decode"))
    args = parser.parse_args()
    # What bench/run.py's build and measure read.
    args.impls = IMPLS
    args.variant = [("always", "parallel-threshold=0")]
    args.torch_fresh_pages = False

    rows = QUICK_ROWS if args.quick else ROWS
    ns = QUICK_NS if args.quick else NS
    configs = [kernels.Config(op, dtype, m, n, dynamic_rows=not args.static)
               for op in args.ops for dtype in args.dtypes for n in ns
               for m in rows]
    rounds, started, load_before, load_after = fwd.build_and_time(
        args, configs, fwd.build, fwd.measure, "kernels and driver")
    results = fwd.combine_rounds(rounds)

    shapes = "static shapes" if args.static else "kernels over ?xN"
    text = (f"norm-mlir CPU decode-shape benchmark ({shapes}), {started}, "
            f"{os.cpu_count()} cores, load average {load_before:.1f} before "
            f"and {load_after:.1f} after; {args.rounds} round(s); median "
            "microseconds per call, buffers in cache.\n")
    for threads in args.threads:
        body, floor = table(results, threads)
        text += (f"\n### {threads} thread{'s' if threads > 1 else ''}\n\n"
                 + body)
        if floor is not None:
            text += (f"\nFloor: an empty call times {floor:.3f} us (the two "
                     "clock reads around every call).\n")
    fwd.write_results(args.out, text, results, rounds,
                      ["norm", "onednn", "memcpy", "v_always"], "decode.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
