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

Then the same step as a W8A8 serving engine writes it
(examples/prenorm_rms_norm_fp8.mlir: the norm's output quantised to
f8E4M3FN by one scale per group of 128 elements, computed from the group):
captured and fused into one op with group_size(128) and a scales result,
run, and checked the same way (the scales against the float64 groups'
amax / 448, the fp8 values within one quantisation step).
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
    ok &= fp8_groups(x, r, w)
    print("RESULT:", "every kernel agrees with the float64 reference"
          if ok else "MISMATCH")
    return 0 if ok else 1


def fp8_groups(x, r, w, group=128, floor=1e-6):
    """The W8A8 step: returns whether both kernels agree with float64."""
    path = os.path.join(ROOT, "examples", "prenorm_rms_norm_fp8.mlir")
    with open(path) as f:
        original = f.read()
    captured = norm_mlir.compile(original, ["--norm-capture", "--norm-fuse"])
    print(f"\n== in: {os.path.relpath(path, ROOT)}: the same step, its output "
          f"quantised to fp8 per group of {group} ==")
    print("== norm-opt --norm-capture --norm-fuse ==")
    for line in captured.splitlines():
        if "norm." in line:
            print("  ", " ".join(line.split()))
    if "group_size" not in captured:
        print("   the quantisation was not fused")
        return False

    want = reference.rms_norm(x, w, eps=EPS, residual=r)["out"]
    want_scales = reference.dynamic_scales(want, "f8E4M3FN", group, floor)
    ftol = reference.output_tolerance(want, "f32", N, gamma=w)
    scale_tol = np.max(ftol) / reference.quantized_maximum("f8E4M3FN") + \
        2.0 * reference.ulp(want_scales, "f32")
    kernels = {"upstream MLIR (original)": jit.JitModule(original, "upstream"),
               "norm-mlir (captured+fused)": jit.JitModule(captured, "cpu")}
    print(f"\n== run: {ROWS}x{N}, f32 in, fp8 out + {N // group} scales a row "
          "+ f32 residual sum ==")
    ok, times = True, {}
    for label, module in kernels.items():
        kernel = module["prenorm_fp8"]
        q = np.empty((ROWS, N), np.uint8)  # f8E4M3FN bit patterns
        scales = np.empty((ROWS, N // group), np.float32)
        h = np.empty((ROWS, N), np.float32)
        times[label] = median_time(lambda: kernel(x, r, w, q, scales, h))
        good_scales = bool((np.abs(scales - want_scales) <= scale_tol).all())
        # Within one step of float64 divided by the kernel's own scales.
        own = reference.expand_scales(scales.astype(np.float64), (ROWS, N), group)
        want_q = reference.quantize(want, "f8E4M3FN", own)
        tol = reference.quantization_step(want_q, "f8E4M3FN") + ftol / own
        got_q = reference.f8e4m3fn_bits_to_float(q)
        good_q = bool((np.abs(got_q - want_q) <= tol).all())
        same_h = bool(np.array_equal(h, x + r))
        ok &= good_scales and good_q and same_h
        print(f"   {label:26s} {times[label] * 1e3:8.1f} ms   scales "
              f"{'ok' if good_scales else 'OUT OF TOLERANCE'}, fp8 "
              f"{'ok' if good_q else 'OUT OF TOLERANCE'}, sum "
              f"{'bit-exact' if same_h else 'WRONG'}")
    ours = times["norm-mlir (captured+fused)"]
    print(f"   speed-up {times['upstream MLIR (original)'] / ours:.1f}x over "
          "upstream MLIR (original)")
    return ok


if __name__ == "__main__":
    sys.exit(main())
