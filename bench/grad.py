"""Benchmarks norm-mlir's LayerNorm / RMSNorm gradient kernels on the CPU.

    /usr/bin/python3 bench/grad.py            # 2 shapes x f32, bf16; ~4 minutes
    /usr/bin/python3 bench/grad.py --quick    # one small shape, under a minute
    /usr/bin/python3 bench/grad.py --dynamic  # the same kernels over ?x?

Builds (under bench/out/grad/) the gradient kernels (`norm.layer_norm_grad`
/ `norm.rms_norm_grad` from x, dy, gamma and the saved mean / rstd, writing
dx, dgamma and dbeta) AOT through `norm-opt --norm-cpu-pipeline`,
`mlir-translate --mlir-to-llvmir` and `clang -O3 -march=native`, the same
kernels through upstream MLIR's passes, and a timing driver
(bench/grad_driver.cpp); then times, at each thread count, interleaved in
one process (PyTorch in another):

  memcpy    the same traffic: dx = x + dy streamed (two reads, one write)
  twosweep  the same traffic in a gradient kernel's two sweeps, without its
            arithmetic: per row s = sum(x dy), then dx = x s + dy streamed
            (the row re-read from cache). dx needs its row's sums, so no
            kernel from saved statistics can do with fewer sweeps: this is
            the ceiling of that structure on this machine
  norm      norm-mlir (serial pipeline at 1 thread, openmp=true above)
  onednn    oneDNN 2.6 layer_normalization_backward, scale and shift
            (LayerNorm only: 2.6 has no RMSNorm)
  torch     PyTorch autograd: only the backward of F.layer_norm / the
            composed RMSNorm, after one forward
  upstream  --convert-norm-to-linalg (the decomposed gradient graph), then
            bench/run.py's upstream pipeline

GB/s = 3 x rows x n x element size (x and dy read, dx written) / median
time, for every implementation; gamma, the statistics, dgamma and dbeta
are left out (under 0.2% of the bytes at these shapes). Every
implementation's dx and dgamma (and dbeta) are checked against float64
before it is timed; a result off by more than the tolerance is marked FAIL,
and makes the script exit with status 1 if it is norm-mlir's or upstream's. Prints a table of GB/s and of the
ratios of norm-mlir to each, writes bench/out/grad/results.md,
results.json (rounds.json: every round) and grad.png.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kernels  # noqa: E402  (bench/kernels.py)
import run as fwd  # noqa: E402  (bench/run.py: the forward benchmark)
from norm_mlir.core import tools  # noqa: E402
from norm_mlir.core.kernels import NormGradKernel  # noqa: E402

SHAPES = [(4096, 768), (16384, 4096)]
QUICK_SHAPES = [(1024, 768)]
DTYPES = ["f32", "bf16"]
IMPLS = ["memcpy", "twosweep", "norm", "onednn", "torch", "upstream"]
EPS = {"layer_norm": 1e-5, "rms_norm": 1e-6}
# Largest error accepted, relative (dx: to max(1, |ref|); dgamma, dbeta:
# to max(sqrt(rows), |ref|), the size of a sum of `rows` unit terms).
TOLERANCE = {"f32": 1e-4, "bf16": 2e-2}
# Built from this project's code (the norm pipeline, the linalg
# decomposition): a check failing there fails the run. The baselines'
# failures are marked but not fatal (PyTorch 1.13 sums bf16 LayerNorm's
# dgamma and dbeta in bf16).
OURS = ("norm", "upstream")
# (dtype, rows, n, threads) and the ratios norm-mlir aims at there.
TARGET_AT = ("f32", 16384, 4096, 1)
TARGETS = [("memcpy", 0.8), ("onednn", 1.5), ("upstream", 5.0)]


def grad_kernel(config, name, dynamic=False):
    """The gradient kernel `name`: all of dx, dgamma, (dbeta); with
    `dynamic`, over `?x?` as a front end emits it (the sizes come from the
    memref descriptors at run time)."""
    shape = (None, None) if dynamic else (config.rows, config.n)
    return NormGradKernel(
        op=config.op, shape=shape, dtype=config.dtype,
        gamma=True, saved=True, dx=True, dgamma=True, dbeta=config.has_beta,
        c_interface=True).ir(name)


def build(args, configs, out):
    """Compiles the kernels of every pipeline and the driver; returns the
    driver's path."""
    opts = args.norm_options
    pipelines = {
        "norm": [f"--norm-cpu-pipeline={opts}"],
        "norm_omp": [f"--norm-cpu-pipeline=openmp=true {opts}".strip()],
        "upstream": fwd.UPSTREAM + fwd.UPSTREAM_SERIAL + fwd.UPSTREAM_TAIL,
        "upstream_omp": fwd.UPSTREAM + fwd.UPSTREAM_OMP + fwd.UPSTREAM_TAIL,
    }
    objects = []
    for prefix, passes in pipelines.items():
        stem = os.path.join(out, prefix)
        with open(stem + ".mlir", "w") as f:
            f.write("module {\n" + "\n".join(
                grad_kernel(c, f"{prefix}_{c.tag}", args.dynamic)
                for c in configs) + "\n}\n")
        fwd.run([args.norm_opt, stem + ".mlir", "-o", stem + ".llvm.mlir"] +
                passes)
        fwd.run([tools.mlir_translate(), "--mlir-to-llvmir",
                 stem + ".llvm.mlir", "-o", stem + ".ll"])
        fwd.run([tools.clang(), "-O3", "-march=native", "-Wno-override-module",
                 "-c", stem + ".ll", "-o", stem + ".o"])
        objects.append(stem + ".o")
    # The table of kernels; its declarations only name the symbols (the
    # driver calls each kernel through its real type).
    with open(os.path.join(out, "bench_kernels.h"), "w") as f:
        f.write(kernels.c_table(configs, list(pipelines)))
    driver = os.path.join(out, "grad_bench")
    # Linked as bench/run.py links its driver: oneDNN's libgomp.so.1 is
    # LLVM's libomp, one OpenMP runtime in the process.
    fwd.run([tools.clangxx(), "-O3", "-march=native", "-fopenmp",
             "-I", out, "-I", HERE, os.path.join(HERE, "grad_driver.cpp")] +
            objects + ["-ldnnl", f"-L{tools.lib_dir()}",
                       f"-Wl,-rpath,{tools.lib_dir()}",
                       "-Wl,--disable-new-dtags", "-o", driver])
    return driver


def measure(args, configs, driver):
    """The native implementations through bench/run.py's measurement (one
    process per thread count, interleaved), PyTorch in its own process."""
    native = argparse.Namespace(
        threads=args.threads, impls=[i for i in args.impls if i != "torch"],
        variant=[], min_time=args.min_time, min_reps=args.min_reps,
        torch_fresh_pages=False)
    results = fwd.measure(native, configs, driver) if native.impls else []
    if "torch" not in args.impls:
        return results
    specs = [f"{c.op}:{c.dtype}:{c.rows}x{c.n}" for c in configs]
    for threads in args.threads:
        print(f"  torch x{threads}", file=sys.stderr, flush=True)
        # As bench/run.py: glibc reuses the pages of freed gradients.
        env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                   MALLOC_MMAP_THRESHOLD_=str(1 << 40),
                   MALLOC_TRIM_THRESHOLD_=str(1 << 40),
                   MALLOC_TOP_PAD_=str(1 << 30))
        out = fwd.run([sys.executable, os.path.abspath(__file__),
                       "--torch-worker", "--threads", str(threads),
                       "--min-time", str(args.min_time),
                       "--min-reps", str(args.min_reps)] + specs, env=env)
        results += [json.loads(line) for line in out.splitlines()]
    return results


def relative_error(got, ref, floor):
    """max |got - ref| / max(floor, |ref|) (inf if anything is NaN)."""
    import numpy as np
    err = np.abs(got - ref) / np.maximum(floor, np.abs(ref))
    return float("inf") if np.isnan(err).any() else float(err.max(initial=0))


def torch_worker(argv):
    """Runs in its own process: times PyTorch's backward on each config
    and prints one JSON line per config."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    import torch_bench
    from norm_mlir import reference

    args = torch_bench.parse_worker_args(argv)
    for text in args.configs:
        op, dtype, shape = text.split(":")
        rows, n = (int(d) for d in shape.split("x"))
        dt = torch.bfloat16 if dtype == "bf16" else torch.float32
        eps = EPS[op]
        x = (torch.rand(rows, n) * 4 - 2).to(dt).requires_grad_()
        dy = (torch.rand(rows, n) * 2 - 1).to(dt)
        w = (torch.rand(n) + 0.5).to(dt).requires_grad_()
        if op == "layer_norm":
            b = (torch.rand(n) - 0.5).to(dt).requires_grad_()
            inputs = (x, w, b)
            y = F.layer_norm(x, (n,), w, b, eps)
        else:
            inputs = (x, w)
            y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

        def backward():
            return torch.autograd.grad(y, inputs, dy, retain_graph=True)

        # Check against float64, a block of rows at a time.
        got = [g.detach().float().numpy() for g in backward()]
        gamma = w.detach().double().numpy()
        err_dx, sums = 0.0, None
        for r0 in range(0, rows, 1024):
            block = slice(r0, min(rows, r0 + 1024))
            ref = reference.norm_backward(
                op, dy[block].double().numpy(),
                x.detach()[block].double().numpy(), gamma, eps=eps)
            err_dx = max(err_dx, relative_error(got[0][block], ref["dx"], 1.0))
            part = [ref["dgamma"]] + ([ref["dbeta"]] if op == "layer_norm"
                                      else [])
            sums = part if sums is None else [s + p for s, p in zip(sums, part)]
        errs = [relative_error(g, s, np.sqrt(rows))
                for g, s in zip(got[1:], sums)] + [0.0]
        del got

        times = torch_bench.time_runs(backward, args.min_time, args.min_reps,
                                      args.max_reps)
        with torch.no_grad():
            dest = torch.empty_like(x)
            fill = torch_bench.time_runs(lambda: dest.fill_(0), 0.1, 5, 50)
            alloc = torch_bench.time_runs(
                lambda: torch.empty_like(x).fill_(0), 0.1, 5, 50)
        median = times[len(times) // 2]
        print(json.dumps({
            "impl": "torch", "op": op, "dtype": dtype, "rows": rows, "n": n,
            "threads": args.threads, "median_s": median, "min_s": times[0],
            "reps": len(times),
            "gbps": 3 * rows * n * x.element_size() / median / 1e9,
            "alloc_s": max(0.0, alloc[len(alloc) // 2] - fill[len(fill) // 2]),
            "max_err": max([err_dx] + errs), "err_dx": err_dx,
            "err_dgamma": errs[0], "err_dbeta": errs[1],
            "checked": True}), flush=True)


def check_lines(results):
    """A line on the checks, and one FAIL line per result out of bounds;
    whether any of the project's own (OURS) failed."""
    checked = [r for r in results if r.get("checked")]
    failed = [r for r in checked if not r["max_err"] <= TOLERANCE[r["dtype"]]]
    worst = {d: max([r["max_err"] for r in checked if r["dtype"] == d],
                    default=0.0) for d in DTYPES}
    lines = [f"\nChecks before timing (dx on sampled rows, dgamma / dbeta on "
             f"every column, against float64; tolerance f32 "
             f"{TOLERANCE['f32']:g}, bf16 {TOLERANCE['bf16']:g}): "
             f"{len(checked) - len(failed)} of {len(checked)} passed; largest "
             f"error f32 {worst['f32']:.2g}, bf16 {worst['bf16']:.2g}."]
    for r in failed:
        whose = ("" if r["impl"] in OURS else
                 " (a baseline's own accuracy: does not fail the run)")
        lines.append(
            f"\n**FAIL**: {r['impl']} {r['op']} {r['dtype']} {r['rows']}x"
            f"{r['n']} x{r['threads']}: error dx {r['err_dx']:.3g}, dgamma "
            f"{r['err_dgamma']:.3g}, dbeta {r['err_dbeta']:.3g}{whose}")
    return lines, any(r["impl"] in OURS for r in failed)


def target_lines(results):
    """Whether norm-mlir meets its targets at TARGET_AT (not a failure)."""
    dtype, rows, n, threads = TARGET_AT
    lines = [f"\nTargets at {rows}x{n} {dtype}, {threads} thread: "
             + ", ".join(f"norm >= {ratio}x {fwd.LABELS[impl]}"
                         for impl, ratio in TARGETS)]
    for op in fwd.OPS:
        by = {r["impl"]: r for r in results
              if (r["op"], r["dtype"], r["rows"], r["n"], r["threads"]) ==
              (op, dtype, rows, n, threads)}
        if "norm" not in by:
            lines.append(f"- {op}: not measured in this run")
            continue
        verdicts = []
        for impl, ratio in TARGETS:
            if impl not in by:
                verdicts.append(f"vs {fwd.LABELS[impl]}: n/a")
                continue
            got = by["norm"]["gbps"] / by[impl]["gbps"]
            verdicts.append(f"vs {fwd.LABELS[impl]} {got:.2f}x "
                            f"({'met' if got >= ratio else 'NOT met'})")
        if "memcpy" in by and "twosweep" in by:
            verdicts.append(f"two sweeps alone reach "
                            f"{by['twosweep']['gbps'] / by['memcpy']['gbps']:.2f}x "
                            f"memcpy")
        lines.append(f"- {op}: " + ", ".join(verdicts))
    return lines


def main():
    if sys.argv[1:2] == ["--torch-worker"]:
        torch_worker(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"only {QUICK_SHAPES}")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--impls", nargs="+", default=IMPLS, choices=IMPLS)
    parser.add_argument("--ops", nargs="+", default=fwd.OPS, choices=fwd.OPS)
    parser.add_argument("--dtypes", nargs="+", default=DTYPES, choices=DTYPES)
    parser.add_argument("--norm-opt", default=tools.norm_opt())
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the whole measurement and keep, per "
                        "configuration, the round with the median memcpy time")
    parser.add_argument("--min-time", type=float, default=0.4)
    parser.add_argument("--min-reps", type=int, default=5)
    parser.add_argument("--dynamic", action="store_true",
                        help="kernels over ?x? (every implementation built "
                        "from MLIR; results in bench/out/grad-dynamic)")
    parser.add_argument("--norm-options", default="",
                        help="extra --norm-cpu-pipeline options, e.g. "
                        "'prefetch=false' (as bench/run.py's)")
    parser.add_argument("--out")
    args = parser.parse_args()
    if not args.out:
        args.out = os.path.join(HERE, "out",
                                "grad-dynamic" if args.dynamic else "grad")

    shapes = QUICK_SHAPES if args.quick else SHAPES
    configs = [kernels.Config(op, dtype, rows, n) for op in args.ops
               for dtype in args.dtypes for rows, n in shapes]
    rounds, started, load_before, load_after = fwd.build_and_time(
        args, configs, build, measure, "kernels and driver")
    results = fwd.combine_rounds(rounds)

    shapes_note = ("kernels over ?x? (sizes at run time)" if args.dynamic
                   else "static shapes")
    header = (f"norm-mlir CPU gradient benchmark (dx, dgamma, dbeta from x, "
              f"dy, gamma and the saved statistics; {shapes_note}), {started}, "
              f"{os.cpu_count()} cores, load average {load_before:.1f} before "
              f"and {load_after:.1f} after; {args.rounds} round(s). GB/s = 3 x "
              f"rows x n x element size (x, dy read; dx written) / median "
              f"time for every implementation; memcpy streams dx = x + dy.\n")
    checks, failed = check_lines(results)
    text = (header + fwd.tables(results, args.impls) +
            "\n".join(target_lines(results) + checks) + "\n")
    fwd.write_results(args.out, text, results, rounds, args.impls, "grad.png")
    if failed:
        print("FAIL: norm-mlir's gradients (norm or upstream) are out of "
              "tolerance (above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
