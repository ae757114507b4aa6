#!/usr/bin/env python3
"""What the Python JIT path costs: first-call compile time and steady-state
per-call overhead of norm_mlir.layer_norm, next to torch's F.layer_norm.

    /usr/bin/python3 bench/jit_overhead.py [--shape 256x768] [--pipeline cpu]
        [--json bench/out/jit_overhead.json]

Reports, for f32 LayerNorm with gamma and beta:
  - the first call in a fresh process (loads libNormCAPI.so, creates the
    MLIR context, compiles the kernel), and the first call of a new kernel
    signature once all that is warm (compilation alone);
  - steady state per call: norm_mlir.layer_norm, and the compiled kernel
    called directly on prepared memref descriptors; the same at 1x8, where
    the kernel costs next to nothing, gives the per-call overhead of the
    Python wrapper (argument checks, cache lookup, descriptors, ctypes);
  - torch.nn.functional.layer_norm on the same data (torch's default
    threads; the JIT kernel is single-threaded).
Times are medians (and minima) over interleaved batches.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))


def per_call(fns, rounds=15, batch_time=0.02):
    """Seconds per call of each function in the dict `fns`: (median, min)
    over `rounds` batches. Batches of the different functions alternate, so
    that load on a shared machine hits them alike."""
    batches = {}
    for name, fn in fns.items():
        fn()
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < batch_time:
            fn()
            calls += 1
        batches[name] = max(calls, 5)
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(batches[name]):
                fn()
            samples[name].append((time.perf_counter() - start) / batches[name])
    return {name: (float(np.median(v)), float(np.min(v)))
            for name, v in samples.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="256x768")
    parser.add_argument("--pipeline", default=None,
                        help="JIT pipeline (default: norm_mlir's default)")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)
    rows, n = (int(d) for d in args.shape.split("x"))

    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, n)).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)

    start = time.perf_counter()
    import norm_mlir
    from norm_mlir import jit, norms
    pipeline = args.pipeline or norm_mlir.default_pipeline()
    import_s = time.perf_counter() - start

    start = time.perf_counter()
    y = norm_mlir.layer_norm(x, g, b, pipeline=pipeline)
    first_call_s = time.perf_counter() - start

    start = time.perf_counter()
    norm_mlir.layer_norm(x, g, b, eps=1e-6, pipeline=pipeline)
    new_signature_s = time.perf_counter() - start

    results = {"shape": [rows, n], "dtype": "f32", "pipeline": pipeline,
               "import_s": import_s, "first_call_s": first_call_s,
               "new_signature_compile_s": new_signature_s}

    def kernel_call(x, g, b):
        """The compiled kernel called directly on prepared descriptors."""
        key = ("layer_norm", "f32", x.shape[1], "f32", "f32", False, "f32",
               1e-5, pipeline)
        kernel = norms._cache.kernels[key]
        arrays = (x, g, b, np.empty_like(x))
        descriptors = [jit.memref_descriptor(a) for a in arrays]
        # The lambda holds the arrays: descriptors only hold their addresses.
        return lambda arrays=arrays: kernel.call_descriptors(*descriptors)

    tiny = rng.standard_normal((1, 8)).astype(np.float32)
    tg, tb = np.ones(8, np.float32), np.zeros(8, np.float32)
    norm_mlir.layer_norm(tiny, tg, tb, pipeline=pipeline)
    fns = {
        "call": lambda: norm_mlir.layer_norm(x, g, b, pipeline=pipeline),
        "kernel": kernel_call(x, g, b),
        "tiny_call": lambda: norm_mlir.layer_norm(tiny, tg, tb, pipeline=pipeline),
        "tiny_kernel": kernel_call(tiny, tg, tb),
    }
    try:
        import torch
        import torch.nn.functional as F
        tx, tg_, tb_ = (torch.from_numpy(a) for a in (x, g, b))
        fns["torch"] = lambda: F.layer_norm(tx, (n,), tg_, tb_, 1e-5)
        want = F.layer_norm(tx, (n,), tg_, tb_, 1e-5).numpy()
        results["max_abs_diff_vs_torch"] = float(np.max(np.abs(y - want)))
        results["torch_version"] = torch.__version__
        results["torch_threads"] = torch.get_num_threads()
    except ImportError:
        torch = None
    timings = per_call(fns)
    for name, (median, best) in timings.items():
        results[f"{name}_us"] = 1e6 * median
        results[f"{name}_min_us"] = 1e6 * best
    # The wrapper's cost: what a call adds to its kernel, at the tiny shape
    # where the kernel itself is next to nothing.
    results["overhead_us"] = results["tiny_call_us"] - results["tiny_kernel_us"]
    results["overhead_min_us"] = (results["tiny_call_min_us"] -
                                  results["tiny_kernel_min_us"])
    if hasattr(os, "getloadavg"):
        results["load_average_1min"] = os.getloadavg()[0]
    results["cpus"] = os.cpu_count()

    us = lambda name: (f"{results[name + '_us']:9.1f} us "
                       f"(best {results[name + '_min_us']:.1f})")
    print(f"norm_mlir JIT, LayerNorm f32 {rows}x{n} with gamma/beta, "
          f"pipeline '{pipeline}'")
    print(f"  first call in a fresh process  {1e3 * first_call_s:9.1f} ms "
          "(library load, MLIR context, compile)")
    print(f"  compile of a new signature     {1e3 * new_signature_s:9.1f} ms")
    print(f"  steady state, per call         {us('call')}")
    print(f"    the kernel alone             {us('kernel')}")
    print(f"  at 1x8, per call               {us('tiny_call')}")
    print(f"    the kernel alone             {us('tiny_kernel')}")
    print(f"  => per-call overhead           {results['overhead_us']:9.1f} us "
          f"(best {results['overhead_min_us']:.1f})")
    if torch is not None:
        print(f"torch {results['torch_version']} F.layer_norm, same data, "
              f"{results['torch_threads']} thread(s)")
        print(f"  per call                       {us('torch')}")
        print(f"  max |norm_mlir - torch|        "
              f"{results['max_abs_diff_vs_torch']:9.2g}")
    print(f"(medians of interleaved batches; {results['cpus']} CPUs, load "
          f"average {results.get('load_average_1min', float('nan')):.1f})")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
