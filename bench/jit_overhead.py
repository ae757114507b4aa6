#!/usr/bin/env python3
"""What the Python JIT path costs: first-call compile time and steady-state
per-call overhead of norm_mlir.layer_norm, next to torch's F.layer_norm.

    /usr/bin/python3 bench/jit_overhead.py [--shape 256x768] [--pipeline cpu]
        [--json bench/out/jit_overhead.json]

Reports, for f32 LayerNorm with gamma and beta:
  - the first call in a fresh process (loads libNormCAPI.so, creates the
    MLIR context, compiles the kernel), and the first call of a new kernel
    signature once all that is warm (compilation alone);
  - steady state per call: norm_mlir.layer_norm, the compiled kernel called
    directly on prepared memref descriptors, their difference (the Python
    wrapper's overhead), and the same at a tiny shape (1x8) where the kernel
    itself costs next to nothing;
  - torch.nn.functional.layer_norm on the same data (torch's default threads
    and one thread; the JIT kernel is single-threaded).
Times are medians over repeated batches.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))


def per_call(fn, min_time=0.2, repeats=7):
    """Median seconds per call of `fn` over `repeats` batches."""
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time / 4:
        fn()
        calls += 1
    batch = max(calls, 10)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch)
    return float(np.median(samples))


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

    results["call_us"] = 1e6 * per_call(
        lambda: norm_mlir.layer_norm(x, g, b, pipeline=pipeline))
    key = ("layer_norm", "f32", n, "f32", "f32", False, "f32", 1e-5, pipeline)
    kernel = norms._cache.kernels[key]
    out = np.empty_like(x)
    descriptors = [jit.memref_descriptor(a) for a in (x, g, b, out)]
    results["kernel_us"] = 1e6 * per_call(lambda: kernel.call_descriptors(*descriptors))
    results["overhead_us"] = results["call_us"] - results["kernel_us"]

    tiny = rng.standard_normal((1, 8)).astype(np.float32)
    tg, tb = np.ones(8, np.float32), np.zeros(8, np.float32)
    norm_mlir.layer_norm(tiny, tg, tb, pipeline=pipeline)
    results["tiny_1x8_call_us"] = 1e6 * per_call(
        lambda: norm_mlir.layer_norm(tiny, tg, tb, pipeline=pipeline))

    try:
        import torch
        import torch.nn.functional as F
        tx, tg_, tb_ = (torch.from_numpy(a) for a in (x, g, b))
        results["torch_threads"] = torch.get_num_threads()
        results["torch_us"] = 1e6 * per_call(
            lambda: F.layer_norm(tx, (n,), tg_, tb_, 1e-5))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        results["torch_1thread_us"] = 1e6 * per_call(
            lambda: F.layer_norm(tx, (n,), tg_, tb_, 1e-5))
        torch.set_num_threads(threads)
        want = F.layer_norm(tx, (n,), tg_, tb_, 1e-5).numpy()
        results["max_abs_diff_vs_torch"] = float(np.max(np.abs(y - want)))
        results["torch_version"] = torch.__version__
    except ImportError:
        results["torch_us"] = None

    print(f"norm_mlir JIT, LayerNorm f32 {rows}x{n} with gamma/beta, "
          f"pipeline '{pipeline}'")
    print(f"  first call in a fresh process  {1e3 * first_call_s:9.1f} ms "
          "(library load, MLIR context, compile)")
    print(f"  compile of a new signature     {1e3 * new_signature_s:9.1f} ms")
    print(f"  steady state, per call         {results['call_us']:9.1f} us")
    print(f"    of which the kernel          {results['kernel_us']:9.1f} us")
    print(f"    of which Python/ctypes       {results['overhead_us']:9.1f} us")
    print(f"  steady state at 1x8            {results['tiny_1x8_call_us']:9.1f} us")
    if results.get("torch_us") is not None:
        print(f"torch {results['torch_version']} F.layer_norm, same data")
        print(f"  per call ({results['torch_threads']} threads)"
              f"{'':>{max(0, 11 - len(str(results['torch_threads'])))}}"
              f"{results['torch_us']:9.1f} us")
        print(f"  per call (1 thread)            {results['torch_1thread_us']:9.1f} us")
        print(f"  max |norm_mlir - torch|        {results['max_abs_diff_vs_torch']:9.2g}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
