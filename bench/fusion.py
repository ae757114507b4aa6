"""Benchmarks fused add + RMSNorm (+ cast) against the same work as separate
kernels on the CPU.

    /usr/bin/python3 bench/fusion.py                 # 16384x4096, 1 and 2 threads
    /usr/bin/python3 bench/fusion.py --shape 4096x4096 --threads 1

For each form, the fused kernel is built from the unfused tensor program
(residual add, `norm.rms_norm` with gamma, then a bf16 cast or an int8
quantisation, the sum also kept) by `norm-opt --norm-fuse
--norm-cpu-pipeline`; the script checks that --norm-fuse left exactly one
norm op. The unfused sequence is three kernels, each as good as it gets:

  add     h = x + r             C++ -O3 -march=native, non-temporal stores
  norm    y = rmsnorm(h) * w    norm-mlir's CPU kernel, f32 in and out
  cast    bf16(y) / int8(y / s) C++ -O3 -march=native, non-temporal stores

(the f32 form has no third kernel). Threads: OpenMP in the C++ loops,
`--norm-cpu-pipeline=openmp=true` for the MLIR kernels at 2 threads.

Dynamic quantisation (vLLM's rms_norm_dynamic_per_token_quant with a
residual, and rms_norm_per_block_quant with groups of 128): the fused
kernel is one norm op (add, RMSNorm, int8 with scales per row or per
group) against the norm followed by a separate quantisation kernel:

  norm    y = rmsnorm(x + r) * w, h = x + r   norm-mlir's fused f32 kernel
  quant   scales and int8(y / scale)          C++ -O3 -march=native, two
                                              passes per row or group (the
                                              second from cache), NT stores

Bytes moved count every tensor read or written once per kernel: fused
x + r + h + y; unfused (x + r + h) + (h + y32) + (y32 + y). The driver runs
all forms interleaved (one call of each per round, after warm-up), reports
medians, and checks that fused and unfused results agree (h exactly, y
within one ulp of bf16 / one int8 step). Writes bench/results/fusion.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))

from norm_mlir.core import tools  # noqa: E402
from norm_mlir.core.kernels import NormKernel, norm_op  # noqa: E402

# Output element type, bytes per output element.
FORMS = [("f32", 4), ("bf16", 2), ("i8", 1)]
SCALE = 0.02
GROUP = 128
# The dynamic quantisation forms: name, group size (0: per row).
DYNAMIC_FORMS = [("dyn_i8", 0), ("group_i8", GROUP)]


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return proc.stdout


def unfused_block(rows, n, out):
    """The tensor program --norm-fuse turns into the fused kernel."""
    full, vec = f"{rows}x{n}xf32", f"{n}xf32"
    t, m = (lambda s: f"tensor<{s}>"), (lambda s: f"memref<{s}>")
    args = [f"%x: {m(full)}", f"%r: {m(full)}", f"%w: {m(vec)}"]
    if out == "i8":
        args.append("%s: f32")
    args += [f"%y: {m(f'{rows}x{n}x{out}')}", f"%h: {m(full)}"]
    lines = [f"func.func @fused_{out}({', '.join(args)}) "
             "attributes {llvm.emit_c_interface} {"]
    for v, s in (("x", full), ("r", full), ("w", vec)):
        lines.append(f"  %{v}t = bufferization.to_tensor %{v} restrict : "
                     f"{m(s)} to {t(s)}")
    lines += [
        f"  %sum = arith.addf %xt, %rt : {t(full)}",
        f"  %e = tensor.empty() : {t(full)}",
        "  %n = " + norm_op("rms_norm", ("%sum", t(full)), ("%e", t(full)),
                            eps=1e-6, gamma=("%wt", t(vec))),
    ]
    y = "%n"
    if out == "bf16":
        lines.append(f"  %y16 = arith.truncf %n : {t(full)} to "
                     f"{t(f'{rows}x{n}xbf16')}")
        y = "%y16"
    elif out == "i8":
        qt = t(f"{rows}x{n}xi8")
        lines += [
            f"  %qe = tensor.empty() : {qt}",
            "  %q = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> "
            "(d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = "
            f"[\"parallel\", \"parallel\"]}} ins(%n : {t(full)}) outs(%qe : {qt}) {{",
            "  ^bb0(%a: f32, %o: i8):",
            "    %lo = arith.constant -128.0 : f32",
            "    %hi = arith.constant 127.0 : f32",
            "    %d = arith.divf %a, %s : f32",
            "    %rd = math.roundeven %d : f32",
            "    %c1 = arith.maximumf %rd, %lo : f32",
            "    %c2 = arith.minimumf %c1, %hi : f32",
            "    %i = arith.fptosi %c2 : f32 to i8",
            "    linalg.yield %i : i8",
            f"  }} -> {qt}",
        ]
        y = "%q"
    ot = f"{rows}x{n}x{out}"
    lines += [
        f"  bufferization.materialize_in_destination {y} in restrict writable "
        f"%y : ({t(ot)}, {m(ot)}) -> ()",
        f"  bufferization.materialize_in_destination %sum in restrict writable "
        f"%h : ({t(full)}, {m(full)}) -> ()",
        "  return",
        "}",
    ]
    return "\n".join(lines)


def norm_kernel(rows, n):
    """The unfused sequence's middle kernel: RMSNorm with gamma, f32, called
    with h, w and y."""
    return NormKernel(op="rms_norm", shape=(rows, n), gamma=True, eps=1e-6,
                      abi="kernel", c_interface=True).ir("norm_f32")


def dynamic_quant_kernel(rows, n, name, group):
    """The fused dynamic quantisation kernel: x, r, w in; q, h, scales
    out."""
    return NormKernel(op="rms_norm", shape=(rows, n), gamma=True,
                      residual=True, residual_out=True, out="i8",
                      dynamic_quant=True, group_size=group, eps=1e-6,
                      abi="kernel", c_interface=True).ir(f"fused_{name}")


def build(args, rows, n, out_dir):
    norm_opt = args.norm_opt
    source = "module {\n" + "\n".join(
        [unfused_block(rows, n, out) for out, _ in FORMS] +
        [dynamic_quant_kernel(rows, n, name, group)
         for name, group in DYNAMIC_FORMS] +
        [norm_kernel(rows, n)]) + "\n}\n"
    src = os.path.join(out_dir, "fusion.mlir")
    with open(src, "w") as f:
        f.write(source)
    # What --norm-fuse makes of the unfused blocks: one norm op each.
    fused = run([norm_opt, src, "--norm-fuse"])
    with open(os.path.join(out_dir, "fusion.fused.mlir"), "w") as f:
        f.write(fused)
    for out, _ in FORMS:
        body = fused.split(f"func.func @fused_{out}(")[1].split("func.func")[0]
        if (body.count("norm.rms_norm") != 1 or "residual(" not in body or
                "arith.addf" in body or "linalg.generic" in body or
                "arith.truncf" in body):
            sys.exit(f"--norm-fuse did not fuse fused_{out}:\n{body}")
    objects = []
    extra = args.cpu_options.strip()
    for prefix, pipeline in (
            ("serial", "--norm-cpu-pipeline" + (f"={extra}" if extra else "")),
            ("omp", f"--norm-cpu-pipeline=openmp=true {extra}".rstrip())):
        # One object per variant, its functions named apart.
        variant = os.path.join(out_dir, f"fusion_{prefix}.mlir")
        with open(variant, "w") as f:
            f.write(source.replace("@fused_", f"@{prefix}_fused_")
                    .replace("@norm_f32", f"@{prefix}_norm_f32"))
        lowered = os.path.join(out_dir, f"fusion_{prefix}.llvm.mlir")
        run([norm_opt, variant, "--norm-fuse", pipeline, "-o", lowered])
        ll = os.path.join(out_dir, f"fusion_{prefix}.ll")
        run([tools.mlir_translate(), "--mlir-to-llvmir", lowered, "-o", ll])
        obj = os.path.join(out_dir, f"fusion_{prefix}.o")
        run([tools.clang(), "-O3", "-march=native", "-c", ll, "-o", obj,
             "-Wno-override-module"])
        objects.append(obj)
    driver = os.path.join(out_dir, "fusion_bench")
    run([tools.clangxx(), "-O3", "-march=native", "-fopenmp", "-std=c++17",
         f"-DROWS={rows}", f"-DCOLS={n}", f"-DSCALE={SCALE}f",
         f"-DGROUP={GROUP}",
         os.path.join(HERE, "fusion_driver.cpp")] + objects +
        [f"-L{tools.lib_dir()}", f"-Wl,-rpath,{tools.lib_dir()}", "-o",
         driver])
    return driver


def report(results, rows, n, load_before, load_after):
    by = {(r["threads"], r["impl"]): r for r in results}
    lines = [
        f"# Fused add + RMSNorm (+ cast) vs separate kernels, {rows}x{n} f32 "
        "input, CPU\n",
        f"`bench/fusion.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"; load average {load_before} before, {load_after} after.\n",
        "| threads | output | fused ms | unfused ms (add + norm + cast) | "
        "time ratio | fused MB | unfused MB | bytes ratio | fused GB/s | "
        "unfused GB/s | memcpy GB/s | max diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for threads in sorted({r["threads"] for r in results}):
        copy = by.get((threads, "memcpy"))
        for out, _ in FORMS:
            f = by[(threads, f"fused_{out}")]
            u = by[(threads, f"unfused_{out}")]
            parts = " + ".join(f"{u['parts_ms'][k]:.1f}" for k in
                               ("add", "norm", "cast") if k in u["parts_ms"])
            lines.append(
                f"| {threads} | {out} | {f['median_s'] * 1e3:.1f} | "
                f"{u['median_s'] * 1e3:.1f} ({parts}) | "
                f"**{u['median_s'] / f['median_s']:.2f}x** | "
                f"{f['bytes'] / 1e6:.0f} | {u['bytes'] / 1e6:.0f} | "
                f"{u['bytes'] / f['bytes']:.2f}x | {f['gbps']:.1f} | "
                f"{u['gbps']:.1f} | {copy['gbps'] if copy else 0:.1f} | "
                f"{f['max_diff']} |")
    lines.append("\nmax diff: fused against unfused output, in bf16 ulps or "
                 "int8 steps (f32: absolute); the residual sums are compared "
                 "bit for bit (a mismatch aborts the run).")
    lines += [
        "\n## Dynamic quantisation: fused vs the norm, then a separate "
        "quantisation kernel\n",
        "| threads | scales | fused ms | separate ms (norm + quant) | "
        "time ratio | fused MB | separate MB | fused GB/s | max diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for threads in sorted({r["threads"] for r in results}):
        for name, group in DYNAMIC_FORMS:
            f = by[(threads, f"fused_{name}")]
            u = by[(threads, f"separate_{name}")]
            # Three significant digits: decode shapes take microseconds.
            parts = " + ".join(f"{u['parts_ms'][k]:.3g}" for k in
                               ("norm", "quant"))
            lines.append(
                f"| {threads} | {f'per group of {group}' if group else 'per row'}"
                f" | {f['median_s'] * 1e3:.3g} | {u['median_s'] * 1e3:.3g} "
                f"({parts}) | **{u['median_s'] / f['median_s']:.2f}x** | "
                f"{f['bytes'] / 1e6:.0f} | {u['bytes'] / 1e6:.0f} | "
                f"{f['gbps']:.1f} | {f['max_diff']} |")
    lines.append("\nThe separate sequence's scales agree with the fused "
                 "kernel's to 1e-6 relative and its outputs to one int8 step "
                 "(checked before timing; a mismatch aborts the run).")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="16384x4096")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--min-reps", type=int, default=7)
    parser.add_argument("--norm-opt", default=tools.norm_opt())
    parser.add_argument("--cpu-options", default="",
                        help="extra norm-cpu-pipeline options, e.g. "
                        "'prefetch-locality=2'")
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    parser.add_argument("--results",
                        default=os.path.join(HERE, "results", "fusion.md"))
    args = parser.parse_args()
    rows, n = (int(v) for v in args.shape.split("x"))
    os.makedirs(args.out, exist_ok=True)
    driver = build(args, rows, n, args.out)
    load_before = os.getloadavg()[0]
    results = []
    for threads in args.threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        out = run([driver, str(threads), str(args.min_time),
                   str(args.min_reps)], env=env)
        results += [json.loads(line) for line in out.splitlines()]
    text = report(results, rows, n, f"{load_before:.1f}",
                  f"{os.getloadavg()[0]:.1f}")
    print(text)
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
