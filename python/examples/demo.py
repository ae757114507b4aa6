"""norm-mlir demo: decomposed IR in; captured, fused, lowered, run; numbers
and speed out.

Reads examples/prenorm_rms_norm.mlir (a pre-norm transformer step: a
residual add whose sum is kept, an RMSNorm with a weight and a cast to bf16,
spelled out as linalg reductions and elementwise ops, 4096x4096 f32 in),
runs `--norm-capture --norm-fuse` on it, shows the one norm op that replaces
the chain, JIT-compiles both the original (upstream MLIR's lowering) and the
fused kernel (`--norm-cpu-pipeline`), runs them on the same random data,
checks both against the float64 reference within docs/Tolerances.md (the
sum bit for bit), and times them next to PyTorch when it is installed.
"""

import os
import statistics
import sys
import time

import numpy as np

import norm_mlir
from norm_mlir import jit, reference

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROWS, N, EPS = 4096, 4096, 1e-6


def median_time(fn, reps=5):
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    path = os.path.join(ROOT, "examples", "prenorm_rms_norm.mlir")
    with open(path) as f:
        original = f.read()
    ops = sum(1 for line in original.splitlines()
              if "= linalg." in line or "= arith." in line or "= math." in line)
    print(f"== in: {os.path.relpath(path, ROOT)}: residual add + RMSNorm + "
          f"bf16 cast as {ops} linalg/arith/math ops ==")

    passes = ["norm-capture"] + (["norm-fuse"] if norm_mlir.has_pass("norm-fuse") else [])
    captured = norm_mlir.compile(original, [f"--{p}" for p in passes])
    print(f"== norm-opt {' '.join('--' + p for p in passes)} ==")
    for line in captured.splitlines():
        if "norm." in line:
            print("  ", " ".join(line.split()))
    if "norm.rms_norm" not in captured:
        print("RESULT: nothing captured")
        return 1

    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, N)).astype(np.float32)
    r = rng.standard_normal((ROWS, N)).astype(np.float32)
    w = rng.uniform(0.5, 1.5, N).astype(np.float32)
    want = reference.rms_norm(x, w, eps=EPS, residual=r)["out"]
    tol = reference.output_tolerance(want, "bf16", N, gamma=w)
    want_h = x + r  # f32 sum, rounded once: must match bit for bit

    ours_label = "norm-mlir (captured+fused)"
    kernels = {"upstream MLIR (original)": jit.JitModule(original, "upstream")["prenorm"],
               ours_label: jit.JitModule(captured, "cpu")["prenorm"]}
    print(f"\n== run: {ROWS}x{N}, f32 in, bf16 out + f32 residual sum ==")
    ok = True
    times = {}
    for label, kernel in kernels.items():
        out = np.empty((ROWS, N), np.uint16)  # bf16 bit patterns
        h = np.empty((ROWS, N), np.float32)
        call = lambda k=kernel, o=out, s=h: k(x, r, w, o, s)
        times[label] = median_time(call)
        got = reference.bf16_bits_to_float(out)
        err = float(np.max(np.abs(got - want)))
        good = bool((np.abs(got - want) <= tol).all())
        same_h = bool(np.array_equal(h.view(np.uint32), want_h.view(np.uint32)))
        ok &= good and same_h
        print(f"   {label:26s} {times[label] * 1e3:8.1f} ms   max |err| vs float64 "
              f"{err:.2g} ({'ok' if good else 'OUT OF TOLERANCE'}), sum "
              f"{'bit-exact' if same_h else 'WRONG'}")
    try:
        import torch
        tx, tr, tw = (torch.from_numpy(a) for a in (x, r, w))
        torch.set_num_threads(1)

        def torch_step():
            h = tx + tr
            y = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + EPS) * tw
            return y.to(torch.bfloat16), h
        times[f"PyTorch {torch.__version__} eager"] = median_time(torch_step)
        print(f"   {'PyTorch eager (1 thread)':26s} "
              f"{times[f'PyTorch {torch.__version__} eager'] * 1e3:8.1f} ms")
    except ImportError:
        pass

    ours = times[ours_label]
    moved = (4 + 4 + 2 + 4) * ROWS * N + 4 * N  # x, r read; out, h written; w
    print(f"\n   norm-mlir moves {moved / ours / 1e9:.1f} GB/s; speed-up "
          + ", ".join(f"{t / ours:.1f}x over {k}" for k, t in times.items()
                      if k != ours_label))
    print("RESULT:", "both agree with the float64 reference" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
