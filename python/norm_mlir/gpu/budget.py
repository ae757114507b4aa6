"""The benchmark kernels against hand-written ones: SASS instructions per
element (issue #18, part 6).

    python -m norm_mlir.gpu.budget [--out DIR]     # the table; 1 if over

Every benchmark variant of the device harness
(norm_mlir.gpu.generate.bench_specs) is built for sm_90 as bench/gpu/run.sh
runs it, and bench/gpu/handwritten_norms.cu is compiled by nvcc with the
same geometry (threads a row, rows a block). Each kernel's instructions
(norm_mlir.gpu.sass) over the elements a thread owns are its instructions
per element; ours over the hand-written kernel's must be at most BUDGET.

So is every row-length bucket kernel of the same ops over ?x? (the row
length known only at run time, as a serving engine's token count and a
front end's shapes are): each against a hand-written kernel that takes the
row length at run time too, holds up to the bucket's length in registers
and guards every vector, with the geometry the plan gives the bucket.
Needs ptxas and nvcc.
"""

import argparse
import os
import subprocess
import sys
import tempfile

from norm_mlir.core import tools
from norm_mlir.gpu import binaries, generate
from norm_mlir.gpu.sass import kernel_instructions

#: The largest ratio of instructions per element, ours to hand-written.
BUDGET = 1.2

HANDWRITTEN = os.path.join(tools.ROOT, "bench", "gpu", "handwritten_norms.cu")

#: The row-length buckets of a ?x? norm's kernels (getRowLengthBuckets in
#: lib/Conversion/NormToGPU/KernelPlan.cpp), launched in this order, then
#: the streamed kernel and the element-by-element fallback.
ROW_BUCKETS = (1024, 2048, 4096, 8192)


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


def _row(variant, hand_name, hand, threads, rows_per_block, n, ours):
    if hand_name not in hand:
        raise RuntimeError(f"{variant}: no kernel {hand_name} in "
                           f"{HANDWRITTEN} for the geometry the plan chose; "
                           "add one")
    per_thread = n / threads
    return {"variant": variant, "threads": threads,
            "rows_per_block": rows_per_block, "elements": per_thread,
            "ours": ours, "hand": hand[hand_name],
            "ours_per_element": ours / per_thread,
            "hand_per_element": hand[hand_name] / per_thread,
            "ratio": ours / hand[hand_name]}


def _geometry(variant):
    """(threads a row, rows a block) of a static variant's one launch."""
    (launch,) = variant["launches"]
    block, grid = launch["block"][0], launch["grid"][0]
    rows_per_block = -(-variant["shape"][0] // grid)
    return block // rows_per_block, rows_per_block


def _bucket_kernels(out_dir, op, dtype, affine, log):
    """{bound: SASS instructions} of the bucket kernels of one ?x? op."""
    spec = f"op={op} shape=64x{ROW_BUCKETS[-1]} dtype={dtype} {affine} " \
           "abi=kernel dynamic"
    func = f"dyn_{op}_{dtype}"
    src = os.path.join(out_dir, f"{func}.mlir")
    with open(src, "w") as f:
        f.write(generate.parse_case("bench", spec).kernel_ir(func) + "\n")
    lowered = generate.run_pipeline(src, "chip=sm_90 format=bin",
                                    os.path.join(out_dir, f"{func}.bin.mlir"))
    cubins = {o.module: o.data for o in binaries.objects(lowered)}
    launches = generate.launched_kernels(lowered, func)
    if len(launches) != len(ROW_BUCKETS) + 2:
        raise RuntimeError(f"{spec}: {len(launches)} kernels, expected a "
                           f"kernel for each of the buckets {ROW_BUCKETS}, "
                           "the streamed one and the fallback")
    counts = {}
    for bound, (module, kernel) in zip(ROW_BUCKETS, launches):
        counts[bound] = kernel_instructions(cubins[module])[kernel][0]
    return counts


def budget(out_dir, log=lambda *_: None):
    """One row per benchmark variant, then per bucket kernel of the same
    ops over ?x?: its name, the elements a thread owns, our and the
    hand-written kernel's instruction counts, per element, and the ratio."""
    specs = [("bench", s) for s in generate.bench_specs()]
    # The static kernels of the buckets' lengths: the geometry the plan
    # gives a bucket, and what a static shape would cost.
    bucket_specs = [("bench", s) for s in generate.bench_specs(
        [f"64x{bound}" for bound in ROW_BUCKETS])]
    manifest = generate.generate(out_dir, specs + bucket_specs,
                                 chips=("sm_90",), cubin_chip="sm_90", log=log)
    with open(compile_handwritten(out_dir), "rb") as f:
        hand = {name: count
                for name, (count, _) in kernel_instructions(f.read()).items()}
    rows = []
    static = {}
    for variant in manifest["variants"]:
        threads, rows_per_block = _geometry(variant)
        (launch,) = variant["launches"]
        with open(os.path.join(out_dir, launch["binaries"]["sm_90.cubin"]),
                  "rb") as f:
            ours = kernel_instructions(f.read())[launch["kernel"]][0]
        m, n = variant["shape"]
        if (variant["kind"], variant["spec"]) in bucket_specs:
            static[(variant["op"], variant["dtype"], n)] = (
                threads, rows_per_block, ours)
            continue
        name = (f"hand_{variant['op']}_{variant['dtype']}_{n}"
                f"_t{threads}_r{rows_per_block}")
        rows.append(_row(f"{variant['op']} {variant['dtype']} {m}x{n}", name,
                         hand, threads, rows_per_block, n, ours))
    for op in ("layer_norm", "rms_norm"):
        affine = "gamma beta" if op == "layer_norm" else "gamma eps=1e-6"
        for dtype in generate.BENCH_DTYPES:
            counts = _bucket_kernels(out_dir, op, dtype, affine, log)
            for bound, ours in counts.items():
                threads, rows_per_block, static_count = static[(op, dtype,
                                                                bound)]
                name = (f"hand_{op}_{dtype}_upto{bound}_t{threads}"
                        f"_r{rows_per_block}")
                row = _row(f"{op} {dtype} ?x? (N <= {bound})", name, hand,
                           threads, rows_per_block, bound, ours)
                row["static"] = static_count
                rows.append(row)
    return rows


def format_budget(rows):
    lines = ["| kernel (sm_90) | threads x rows | elements a thread | "
             "ours | hand-written | ours / element | hand / element | "
             "ratio | static kernel of the bucket's length |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        static = r.get("static", "")
        lines.append(f"| {r['variant']} | {r['threads']} x "
                     f"{r['rows_per_block']} | {r['elements']:g} | "
                     f"{r['ours']} | {r['hand']} | "
                     f"{r['ours_per_element']:.1f} | "
                     f"{r['hand_per_element']:.1f} | {r['ratio']:.2f} | "
                     f"{static} |")
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
