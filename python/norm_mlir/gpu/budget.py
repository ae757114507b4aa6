"""The benchmark kernels against hand-written ones: SASS instructions per
element (issue #18, part 6).

    python -m norm_mlir.gpu.budget [--out DIR]     # the table; 1 if over

Every benchmark variant of the device harness
(norm_mlir.gpu.generate.bench_specs) is built for sm_90 as bench/gpu/run.sh
runs it, and bench/gpu/handwritten_norms.cu is compiled by nvcc with the
same geometry (threads a row, rows a block). Each kernel's instructions
(norm_mlir.gpu.sass) over the elements a thread owns are its instructions
per element; ours over the hand-written kernel's must be at most BUDGET.
Needs ptxas and nvcc.
"""

import argparse
import os
import subprocess
import sys
import tempfile

from norm_mlir.core import tools
from norm_mlir.gpu import generate
from norm_mlir.gpu.sass import kernel_instructions

#: The largest ratio of instructions per element, ours to hand-written.
BUDGET = 1.2

HANDWRITTEN = os.path.join(tools.ROOT, "bench", "gpu", "handwritten_norms.cu")


def compile_handwritten(out_dir, chip="sm_90"):
    """bench/gpu/handwritten_norms.cu as a cubin for `chip`; its path."""
    nvcc = tools.nvcc()
    if not nvcc:
        raise RuntimeError("nvcc not found")
    path = os.path.join(out_dir, "handwritten.cubin")
    # nvcc is a toolchain, not code under test: the sanitizer job's
    # LD_PRELOAD of the ASan runtime (scripts/test-sanitized.sh) makes its
    # front end crash, so it runs without it.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    proc = subprocess.run([nvcc, "-cubin", f"-arch={chip}", "-O3",
                           "-std=c++17", HANDWRITTEN, "-o", path],
                          capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError("nvcc failed:\n" + proc.stderr)
    return path


def budget(out_dir, log=lambda *_: None):
    """One row per benchmark variant: its name, the elements a thread owns,
    our and the hand-written kernel's instruction counts, per element, and
    the ratio."""
    specs = [("bench", s) for s in generate.bench_specs()]
    manifest = generate.generate(out_dir, specs, chips=("sm_90",),
                                 cubin_chip="sm_90", log=log)
    with open(compile_handwritten(out_dir), "rb") as f:
        hand = {name: count
                for name, (count, _) in kernel_instructions(f.read()).items()}
    rows = []
    for variant in manifest["variants"]:
        (launch,) = variant["launches"]
        block, grid = launch["block"][0], launch["grid"][0]
        m, n = variant["shape"]
        rows_per_block = -(-m // grid)
        threads = block // rows_per_block
        with open(os.path.join(out_dir, launch["binaries"]["sm_90.cubin"]),
                  "rb") as f:
            ours = kernel_instructions(f.read())[launch["kernel"]][0]
        name = (f"hand_{variant['op']}_{variant['dtype']}_{n}"
                f"_t{threads}_r{rows_per_block}")
        if name not in hand:
            raise RuntimeError(f"{variant['spec']}: no kernel {name} in "
                               f"{HANDWRITTEN} for the geometry the plan "
                               "chose; add one")
        per_thread = n / threads
        rows.append({"variant": f"{variant['op']} {variant['dtype']} "
                                f"{m}x{n}",
                     "threads": threads, "rows_per_block": rows_per_block,
                     "elements": per_thread, "ours": ours,
                     "hand": hand[name],
                     "ours_per_element": ours / per_thread,
                     "hand_per_element": hand[name] / per_thread,
                     "ratio": ours / hand[name]})
    return rows


def format_budget(rows):
    lines = ["| kernel (sm_90) | threads x rows | elements a thread | "
             "ours | hand-written | ours / element | hand / element | "
             "ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['threads']} x "
                     f"{r['rows_per_block']} | {r['elements']:g} | "
                     f"{r['ours']} | {r['hand']} | "
                     f"{r['ours_per_element']:.1f} | "
                     f"{r['hand_per_element']:.1f} | {r['ratio']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="where to build (default: a temporary "
                        "directory)")
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="norm-budget-")
    rows = budget(out)
    print(format_budget(rows))
    over = [r for r in rows if r["ratio"] > BUDGET]
    for r in over:
        print(f"over budget ({BUDGET}x): {r['variant']}: {r['ratio']:.2f}x",
              file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
