"""Benchmarks norm-mlir's CPU kernels against memcpy and the usual baselines.

    /usr/bin/python3 bench/run.py                  # everything, ~10 minutes
    /usr/bin/python3 bench/run.py --quick          # two shapes, a minute

Builds (under bench/out/) the norm kernels AOT through `norm-opt
--norm-cpu-pipeline`, `mlir-translate --mlir-to-llvmir` and `clang -O3
-march=native`, the same ops through upstream MLIR's best vectorising path,
and a timing driver; then times, at each thread count, interleaved in one
process (PyTorch in another):

  memcpy    the same bytes copied (the ceiling)
  norm      norm-mlir (serial pipeline at 1 thread, openmp=true above)
  onednn    oneDNN layer_normalization (LayerNorm only: 2.6 has no RMSNorm)
  torch     PyTorch F.layer_norm / the composed RMSNorm (allocates its output)
  cpp       a plain -O3 -march=native C++ loop
  upstream  --convert-norm-to-linalg, elementwise fusion, affine loop fusion,
            the affine super-vectoriser, then LLVM
  dyn       (--dynamic) norm-mlir's kernels over ?x?, the sizes known only at
            run time, as front ends emit them: `norm / norm-mlir ?x?` is
            what a static shape buys

GB/s counts the bytes read and written once (input, output, gamma, beta);
each figure is the median of repeats. Prints a table of GB/s and of the
ratios of norm-mlir to each, writes bench/out/results.json (rounds.json:
every round), results.md and gbps.png.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))

import kernels  # noqa: E402
from norm_mlir.core import tools  # noqa: E402

SHAPES = [(256, 768), (4096, 768), (65536, 1024), (16384, 4096), (4096, 8192)]
BF16_SHAPES = [(16384, 4096)]
QUICK_SHAPES = [(4096, 768), (16384, 4096)]
OPS = ["layer_norm", "rms_norm"]
IMPLS = ["memcpy", "norm", "onednn", "torch", "cpp", "upstream"]
LABELS = {"memcpy": "memcpy", "norm": "norm-mlir", "onednn": "oneDNN",
          "torch": "PyTorch", "cpp": "C++ -O3", "upstream": "upstream MLIR",
          "twosweep": "two sweeps", "dyn": "norm-mlir ?x?"}

# Upstream MLIR's best effort on the decomposed op: fuse the elementwise
# generics on tensors, bufferize, fuse the loops, vectorise them with the
# affine super-vectoriser (reductions included), then LLVM.
UPSTREAM = [
    "--convert-norm-to-linalg",
    "--linalg-fuse-elementwise-ops",
    "--eliminate-empty-tensors",
    "--one-shot-bufferize=bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map",
    "--buffer-deallocation-pipeline",
    "--convert-bufferization-to-memref",
    "--convert-linalg-to-affine-loops",
    "--affine-loop-fusion",
    "--affine-scalrep",
    "--affine-super-vectorize=virtual-vector-size=16 vectorize-reductions",
    "--canonicalize",
]
UPSTREAM_SERIAL = ["--lower-affine"]
UPSTREAM_OMP = ["--affine-parallelize", "--lower-affine",
                "--convert-scf-to-openmp", "--canonicalize"]
UPSTREAM_TAIL = [
    "--convert-vector-to-scf", "--convert-scf-to-cf",
    "--expand-strided-metadata", "--lower-affine", "--convert-vector-to-llvm",
    "--convert-to-llvm", "--reconcile-unrealized-casts",
]


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return proc.stdout


def configs_for(shapes, ops):
    configs = [kernels.Config(op, "f32", r, n) for op in ops for r, n in shapes]
    configs += [kernels.Config(op, "bf16", r, n) for op in ops
                for r, n in BF16_SHAPES if (r, n) in shapes]
    return configs


def build(args, configs, out):
    """Compiles the kernels and the driver; returns the driver's path."""
    norm_opt = args.norm_opt
    opts = args.norm_options
    variants = {
        "norm": [f"--norm-cpu-pipeline={opts}"],
        "norm_omp": [f"--norm-cpu-pipeline=openmp=true {opts}".strip()],
        "upstream": UPSTREAM + UPSTREAM_SERIAL + UPSTREAM_TAIL,
        "upstream_omp": UPSTREAM + UPSTREAM_OMP + UPSTREAM_TAIL,
    }
    # Experimental variants of the norm pipeline, timed beside the rest.
    for name, extra in args.variant:
        merged = f"{opts} {extra}".strip()
        variants[f"v_{name}"] = [f"--norm-cpu-pipeline={merged}"]
        variants[f"v_{name}_omp"] = [
            f"--norm-cpu-pipeline=openmp=true {merged}"]
    # The same kernels over ?x?, through the same pipelines as norm's.
    if args.dynamic:
        variants["dyn"] = variants["norm"]
        variants["dyn_omp"] = variants["norm_omp"]
    objects = []
    for prefix, passes in variants.items():
        src = os.path.join(out, f"{prefix}.mlir")
        with open(src, "w") as f:
            f.write(kernels.module(configs, prefix,
                                   dynamic=prefix.startswith("dyn")))
        lowered = os.path.join(out, f"{prefix}.llvm.mlir")
        run([norm_opt, src, "-o", lowered] + passes)
        ll = os.path.join(out, f"{prefix}.ll")
        run([tools.mlir_translate(), "--mlir-to-llvmir", lowered, "-o", ll])
        obj = os.path.join(out, f"{prefix}.o")
        run([tools.clang(), "-O3", "-march=native", "-c", ll, "-o", obj,
             "-Wno-override-module"])
        objects.append(obj)
    with open(os.path.join(out, "bench_kernels.h"), "w") as f:
        f.write(kernels.c_table(configs, list(variants)))
    driver = os.path.join(out, "bench")
    # --disable-new-dtags: an RPATH that also applies to libdnnl's own
    # dependencies, so that its libgomp.so.1 is LLVM's libomp (which carries
    # the GOMP_* entry points) and the process holds one OpenMP runtime.
    run([tools.clangxx(), "-O3", "-march=native", "-fopenmp", "-I", out, "-I", HERE,
         os.path.join(HERE, "driver.cpp")] + objects +
        ["-ldnnl", f"-L{tools.lib_dir()}", f"-Wl,-rpath,{tools.lib_dir()}",
         "-Wl,--disable-new-dtags", "-o", driver])
    return driver


def measure(args, configs, driver):
    """Native implementations run interleaved in one process per thread
    count; PyTorch in its own."""
    results = []
    for threads in args.threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        specs = [f"{c.op}:{c.dtype}:{c.rows}x{c.n}" for c in configs]
        timing = ["--threads", str(threads), "--min-time", str(args.min_time),
                  "--min-reps", str(args.min_reps)]
        native = []
        for impl in args.impls:
            if impl == "torch":
                continue
            if impl in ("norm", "upstream") and threads > 1:
                impl += "_omp"
            native.append(impl)
        extra = [f"v_{name}" for name, _ in args.variant]
        extra += ["dyn"] if args.dynamic else []
        native += [e + ("_omp" if threads > 1 else "") for e in extra]
        print(f"  {', '.join(native)} x{threads}", file=sys.stderr, flush=True)
        out = run([driver, "--impls", ",".join(native)] + timing + specs,
                  env=env)
        for line in out.splitlines():
            record = json.loads(line)
            impl = record["impl"]
            if impl.endswith("_omp"):
                impl = impl[:-len("_omp")]
            record["impl"] = impl
            results.append(record)
        if "torch" in args.impls:
            print(f"  torch x{threads}", file=sys.stderr, flush=True)
            if not args.torch_fresh_pages:
                # Let glibc reuse the pages of the freed output instead of
                # unmapping them: the steady state of a caching allocator.
                env = dict(env, MALLOC_MMAP_THRESHOLD_=str(1 << 40),
                           MALLOC_TRIM_THRESHOLD_=str(1 << 40),
                           MALLOC_TOP_PAD_=str(1 << 30))
            out = run([sys.executable, os.path.join(HERE, "torch_bench.py")] +
                      timing + specs, env=env)
            results += [json.loads(line) for line in out.splitlines()]
    return results


def write_results(out, text, results, rounds, impls, plot_name):
    """Prints the report `text` and writes it (results.md), the results
    (results.json), every round (rounds.json) and the plot `plot_name`
    under `out`."""
    print(text)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out, "rounds.json"), "w") as f:
        json.dump(rounds, f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    plot(results, impls, os.path.join(out, plot_name))
    print(f"wrote {out}/results.md, results.json, {plot_name}", file=sys.stderr)


def build_and_time(args, configs, build_fn, measure_fn, what):
    """Builds `what` into `args.out` (`build_fn(args, configs, out)` returns
    the driver), then times it `args.rounds` times (`measure_fn(args,
    configs, driver)`); returns the rounds, when timing started and the load
    average before and after."""
    os.makedirs(args.out, exist_ok=True)
    print(f"building {what}...", file=sys.stderr, flush=True)
    driver = build_fn(args, configs, args.out)
    print("timing...", file=sys.stderr, flush=True)
    load_before = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rounds = [measure_fn(args, configs, driver) for _ in range(args.rounds)]
    load_after = os.getloadavg()[0]
    return rounds, started, load_before, load_after


def combine_rounds(rounds):
    """One round per configuration, so that the ratios between the native
    implementations stay those of one interleaved measurement: the round
    whose memcpy (else norm-mlir) time is the median. PyTorch, measured in
    its own process, gets its own median round."""
    native, torch = {}, {}
    for index, results in enumerate(rounds):
        for r in results:
            table = torch if r["impl"] == "torch" else native
            table.setdefault(key(r), {}).setdefault(index, {})[r["impl"]] = r
    combined = []
    for per_round in native.values():
        anchor = "memcpy" if all("memcpy" in rs for rs in per_round.values()) \
            else "norm"
        order = sorted(per_round, key=lambda i: per_round[i][anchor]["median_s"])
        combined += per_round[order[len(order) // 2]].values()
    for per_round in torch.values():
        records = sorted((rs["torch"] for rs in per_round.values()),
                         key=lambda r: r["median_s"])
        combined.append(records[len(records) // 2])
    return combined


def key(r):
    return (r["threads"], r["op"], r["dtype"], r["rows"], r["n"])


def tables(results, impls):
    """Markdown tables: GB/s per implementation, and norm-mlir's ratios."""
    by = {}
    for r in results:
        by.setdefault(key(r), {})[r["impl"]] = r
    lines = []
    for threads in sorted({k[0] for k in by}):
        lines.append(f"\n### {threads} thread{'s' if threads > 1 else ''}: "
                     "GB/s (bytes read + written / median time)\n")
        head = ["op", "dtype", "shape"] + [LABELS.get(i, i) for i in impls]
        others = [i for i in impls if i != "norm"]
        head += [f"norm / {LABELS.get(i, i)}" for i in others]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for k in sorted(by):
            if k[0] != threads:
                continue
            row = by[k]
            cells = [k[1], k[2], f"{k[3]}x{k[4]}"]
            for i in impls:
                cells.append(f"{row[i]['gbps']:.2f}" if i in row else "n/a")
            for i in others:
                if "norm" in row and i in row:
                    cells.append(f"{row['norm']['gbps'] / row[i]['gbps']:.2f}x")
                else:
                    cells.append("n/a")
            lines.append("| " + " | ".join(cells) + " |")
    errors = [r for r in results if r["impl"] != "memcpy" and
              r["max_err"] > (5e-2 if r["dtype"] == "bf16" else 1e-3)]
    for r in errors:
        lines.append(f"\nWARNING: {r['impl']} {r['op']} {r['dtype']} "
                     f"{r['rows']}x{r['n']}: max error {r['max_err']}")
    torch_alloc = [r for r in results if r["impl"] == "torch"]
    if torch_alloc:
        lines.append("\nPyTorch allocates its output on every call; the "
                     "allocation alone (empty_like + first touch) costs:")
        for r in torch_alloc:
            lines.append(f"- {r['op']} {r['dtype']} {r['rows']}x{r['n']} "
                         f"x{r['threads']}: {r['alloc_s'] * 1e3:.2f} ms of "
                         f"{r['median_s'] * 1e3:.2f} ms")
    return "\n".join(lines) + "\n"


def plot(results, impls, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    threads_list = sorted({r["threads"] for r in results})
    fig, axes = plt.subplots(1, len(threads_list),
                             figsize=(8 * len(threads_list), 5), squeeze=False)
    for ax, threads in zip(axes[0], threads_list):
        keys = sorted({key(r)[1:] for r in results if r["threads"] == threads})
        labels = [f"{'LN' if k[0] == 'layer_norm' else 'RMS'} {k[1]}\n"
                  f"{k[2]}x{k[3]}" for k in keys]
        width = 0.8 / len(impls)
        for j, impl in enumerate(impls):
            values = []
            for k in keys:
                match = [r for r in results if r["impl"] == impl and
                         r["threads"] == threads and key(r)[1:] == k]
                values.append(match[0]["gbps"] if match else 0)
            ax.bar([i + j * width for i in range(len(keys))], values, width,
                   label=LABELS.get(impl, impl))
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(keys))])
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("GB/s (read + written), log scale")
        ax.set_title(f"{threads} thread{'s' if threads > 1 else ''}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(impls),
               fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"only {QUICK_SHAPES}")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--impls", nargs="+", default=IMPLS, choices=IMPLS)
    parser.add_argument("--ops", nargs="+", default=OPS, choices=OPS)
    parser.add_argument("--norm-options", default="",
                        help="extra --norm-cpu-pipeline options, e.g. "
                        "'vector-width=8 unroll=2'")
    parser.add_argument("--variant", nargs=2, action="append", default=[],
                        metavar=("NAME", "OPTIONS"),
                        help="also time norm-mlir built with these extra "
                        "pipeline options, as v_NAME")
    parser.add_argument("--dynamic", action="store_true",
                        help="also time norm-mlir's kernels over ?x? (row "
                        "count and length from the descriptors at run time, "
                        "as front ends emit them), as dyn")
    parser.add_argument("--norm-opt", default=tools.norm_opt())
    parser.add_argument("--torch-fresh-pages", action="store_true",
                        help="time PyTorch with glibc's default malloc, which "
                        "maps fresh pages for every large output")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the whole measurement and keep, per "
                        "configuration, the round with the median memcpy time")
    parser.add_argument("--min-time", type=float, default=0.4)
    parser.add_argument("--min-reps", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    args = parser.parse_args()

    shapes = QUICK_SHAPES if args.quick else SHAPES
    configs = configs_for(shapes, args.ops)
    rounds, started, load_before, load_after = build_and_time(
        args, configs, build, measure, "kernels and drivers")
    results = combine_rounds(rounds)
    impls = list(args.impls) + [f"v_{name}" for name, _ in args.variant]
    impls += ["dyn"] if args.dynamic else []

    cpu = "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    header = (f"norm-mlir CPU benchmark, {started}, {cpu}, "
              f"{os.cpu_count()} cores, load average {load_before:.1f} "
              f"before and {load_after:.1f} after; {args.rounds} round(s); "
              f"norm-cpu-pipeline options: '{args.norm_options}'\n")
    text = header + tables(results, impls)
    write_results(args.out, text, results, rounds, impls, "gbps.png")


if __name__ == "__main__":
    main()
