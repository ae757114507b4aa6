"""Device harness of issue #4: runs the generated kernels on an NVIDIA GPU,
checks them against torch in float64 (docs/Tolerances.md) and times them
next to a device-to-device copy of the same bytes, PyTorch's eager
F.layer_norm / RMSNorm and torch.compile'd versions. See run.sh."""

import argparse
import ctypes
import json
import math
import os
import sys
import time

START = time.time()


def gpu_present():
    """None when the CUDA driver sees a device, else why not. Uses ctypes
    only, so it answers even where numpy and torch are missing."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as err:
        return f"the CUDA driver library libcuda.so.1 cannot be loaded ({err})"
    status = cuda.cuInit(0)
    if status != 0:
        return f"cuInit failed with CUDA error {status}"
    count = ctypes.c_int()
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
        return "the CUDA driver sees no device"
    return None


def load_manifest(artefacts):
    path = os.path.join(artefacts, "manifest.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


# -- benchmark ------------------------------------------------------------------

def torch_dtype(torch, name):
    return {"f32": torch.float32, "f16": torch.float16,
            "bf16": torch.bfloat16, "f64": torch.float64}[name]


def tolerance(torch, ref, out_dtype, n, gamma):
    """docs/Tolerances.md, ordinary data, on the GPU."""
    scale = max(1.0, float(gamma.abs().max())) if gamma is not None else 1.0
    if out_dtype in ("f32", "f64"):
        return 1e-5 * max(1.0, math.log2(n)) * scale
    bits = {"f16": 10, "bf16": 7}[out_dtype]
    base = torch.nan_to_num(ref).abs().clamp(min=1.0)
    return 2.0 * torch.exp2(torch.floor(torch.log2(base)) - bits) * scale


def time_ms(torch, fn, iters):
    """Milliseconds per call of `fn`. Replays a CUDA graph of `iters` calls
    when `fn` can be captured (no launch overhead, which would otherwise
    dominate the small shapes), else times a plain loop. Returns
    (ms, "graph" or "loop")."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    try:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                fn()
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(iters):
                fn()
        graph.replay()
        torch.cuda.synchronize()
        start.record()
        for _ in range(3):
            graph.replay()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / (3 * iters), "graph"
    except Exception:  # not capturable: time a loop instead
        torch.cuda.synchronize()
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / iters, "loop"


def bench(device, manifest, artefacts, iters, compile_budget, deadline):
    import torch
    import torch.nn.functional as F
    from norm_mlir.gpu.device import choose_binary, param_values

    torch.cuda.init()
    # One compiled function per variant: lift Dynamo's recompile limit, or
    # it silently falls back to eager after a few shapes.
    for knob in ("cache_size_limit", "recompile_limit"):
        if hasattr(torch._dynamo.config, knob):
            setattr(torch._dynamo.config, knob, 256)
    rows = []
    failures = 0
    compiled = {}
    for variant in manifest["variants"]:
        if variant["kind"] != "bench":
            continue
        if time.time() > deadline:
            print(f"time budget reached: skipping {variant['name']} and after")
            break
        op, m_n = variant["op"], variant["shape"]
        rows_count, n = m_n
        eps = variant["eps"]
        dt, out_dt = torch_dtype(torch, variant["dtype"]), torch_dtype(torch, variant["out_dtype"])
        gen = torch.Generator(device="cuda").manual_seed(0)
        x = torch.randn(rows_count, n, device="cuda", generator=gen).to(dt)
        gamma = (torch.rand(n, device="cuda", generator=gen) + 0.5).to(dt)
        beta = (torch.rand(n, device="cuda", generator=gen) - 0.5).to(dt)
        out = torch.empty(rows_count, n, device="cuda", dtype=out_dt)
        tensors = {"input": x, "gamma": gamma, "beta": beta, "out": out}
        pointers = [tensors[a["name"]].data_ptr() for a in variant["args"]]
        launch = variant["launches"][0]
        with open(os.path.join(artefacts, choose_binary(manifest, launch,
                                                         device.capability())), "rb") as f:
            function = device.load(f.read(), launch["kernel"], launch["module"])
        values = param_values(launch, variant["args"], pointers)

        def ours():
            # On the current stream, which is the capture stream in a graph.
            stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
            device.launch(function, launch["grid"], launch["block"], values,
                          stream)

        ours()
        torch.cuda.synchronize()
        xd, gd = x.double(), gamma.double()
        if op == "layer_norm":
            ref = F.layer_norm(xd, (n,), gd, beta.double(), eps)
        else:
            ref = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + eps) * gd
        err = (out.double() - ref).abs()
        tol = tolerance(torch, ref, variant["out_dtype"], n, gd)
        ok = bool(torch.isfinite(out.double()).all()) and bool((err <= tol).all())
        worst = float(err.max())
        del xd, gd, ref, err, tol
        failures += not ok

        if op == "layer_norm":
            def eager():
                return F.layer_norm(x, (n,), gamma, beta, eps)
        elif hasattr(F, "rms_norm"):
            def eager():
                return F.rms_norm(x, (n,), gamma, eps)
        else:
            def eager():
                xf = x.float()
                return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) *
                        gamma.float()).to(dt)
        copy = torch.empty_like(x)
        t_ours, how = time_ms(torch, ours, iters)
        t_copy, _ = time_ms(torch, lambda: copy.copy_(x), iters)
        t_eager, _ = time_ms(torch, eager, iters)
        t_compiled = None
        if compile_budget and time.time() < START + compile_budget:
            try:
                key = (op, variant["dtype"], tuple(m_n))
                compiled[key] = torch.compile(eager, dynamic=False)
                compiled[key]()
                t_compiled, _ = time_ms(torch, compiled[key], iters)
            except Exception as err:  # Inductor/Triton missing or failing
                print(f"torch.compile failed for {variant['name']}: {err}")
        if how != "graph":
            print(f"{variant['name']}: timed with a launch loop (could not "
                  "capture a CUDA graph)")
        in_bytes = x.element_size() * x.numel()
        moved = in_bytes + out.element_size() * out.numel()
        rows.append((variant["name"], ok, worst, t_ours, moved / t_ours / 1e6,
                     2 * in_bytes / t_copy / 1e6, moved / t_eager / 1e6, t_eager,
                     moved / t_compiled / 1e6 if t_compiled else None, t_compiled))
        del x, gamma, beta, out, copy
        torch.cuda.empty_cache()
    return rows, failures


def grad_reference(torch, op, x, dy, gamma, mean, rstd):
    """dx, its terms' size, dgamma and dbeta in float64 (the formulas of
    norm_mlir.reference.norm_backward, on the GPU)."""
    x, dy, gamma = x.double(), dy.double(), gamma.double()
    rstd = rstd.double()[:, None]
    xhat = (x - mean.double()[:, None]) * rstd if op == "layer_norm" else x * rstd
    wdy = dy * gamma
    projection = xhat * (wdy * xhat).mean(-1, keepdim=True)
    inner, magnitude = wdy - projection, wdy.abs() + projection.abs()
    if op == "layer_norm":
        mean_wdy = wdy.mean(-1, keepdim=True)
        inner, magnitude = inner - mean_wdy, magnitude + mean_wdy.abs()
    return {"dx": rstd * inner, "dx_scale": rstd.abs() * magnitude,
            "dgamma": (dy * xhat).sum(0),
            "dbeta": dy.sum(0) if op == "layer_norm" else None}


def grad_tolerance(torch, ref, dtype, n=None, m=None, terms=None):
    """norm_mlir.reference.gradient_tolerance in torch."""
    ref = torch.nan_to_num(ref).abs()
    scale = ref.clamp(min=1.0)
    if terms is not None:
        scale = torch.maximum(scale, torch.nan_to_num(terms))
    if dtype not in ("f32", "f64"):
        bits = {"f16": 10, "bf16": 7}[dtype]
        return 2.0 * torch.exp2(torch.floor(torch.log2(scale)) - bits)
    if m is None:
        return 1e-5 * max(1.0, math.log2(max(n, 1))) * scale
    absolute = 1e-5 * max(1.0, math.log2(max(m, 1))) * math.sqrt(m)
    return torch.clamp(1e-4 * ref, min=absolute)


def bench_gradients(device, manifest, artefacts, iters, compile_budget,
                    deadline):
    """Times the gradient kernels (issue #16) against a device-to-device
    copy of x, torch's eager backward (aten.native_layer_norm_backward; the
    RMSNorm backward formula in torch ops) and torch.compile of the same.
    GB/s count x and dy read and dx written."""
    import torch
    from norm_mlir.gpu.device import choose_binary, param_values

    rows, failures = [], 0
    for variant in manifest["variants"]:
        if variant["kind"] != "gradbench":
            continue
        if time.time() > deadline:
            print(f"time budget reached: skipping {variant['name']} and after")
            break
        op, (m, n) = variant["op"], variant["shape"]
        dt = torch_dtype(torch, variant["dtype"])
        gen = torch.Generator(device="cuda").manual_seed(0)
        x = torch.randn(m, n, device="cuda", generator=gen).to(dt)
        dy = torch.randn(m, n, device="cuda", generator=gen).to(dt)
        gamma = (torch.rand(n, device="cuda", generator=gen) + 0.5).to(dt)
        beta = torch.zeros(n, device="cuda", dtype=dt)
        xf = x.float()
        mean = xf.mean(-1) if op == "layer_norm" else None
        centred = xf - mean[:, None] if op == "layer_norm" else xf
        rstd = torch.rsqrt(centred.pow(2).mean(-1) + variant["eps"])
        outs = {"dx": torch.empty_like(x), "dgamma": torch.empty_like(gamma),
                "dbeta": torch.empty_like(gamma)}
        tensors = {"x": x, "dy": dy, "g": gamma, "mean": mean, "rstd": rstd,
                   **outs}
        pointers = [tensors[a["name"]].data_ptr() for a in variant["args"]]
        temporaries = [torch.empty(nbytes, dtype=torch.uint8, device="cuda")
                       for nbytes in variant["temporaries"]]
        temp_pointers = [t.data_ptr() for t in temporaries]
        launches = []
        for launch in variant["launches"]:
            with open(os.path.join(artefacts, choose_binary(
                    manifest, launch, device.capability())), "rb") as f:
                function = device.load(f.read(), launch["kernel"],
                                       launch["module"])
            launches.append((function, launch, param_values(
                launch, variant["args"], pointers, temp_pointers)))

        def ours():
            stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
            for function, launch, values in launches:
                device.launch(function, launch["grid"], launch["block"],
                              values, stream)

        ours()
        torch.cuda.synchronize()
        ref = grad_reference(torch, op, x, dy, gamma, mean, rstd)
        ok, worst = True, 0.0
        names = ["dx", "dgamma"] + (["dbeta"] if op == "layer_norm" else [])
        for name in names:
            got = outs[name].double()
            if name == "dx":
                tol = grad_tolerance(torch, ref["dx"], variant["dtype"], n=n,
                                     terms=ref["dx_scale"])
            else:
                tol = grad_tolerance(torch, ref[name], variant["dtype"], m=m)
            err = (got - ref[name]).abs()
            ok = ok and bool(torch.isfinite(got).all()) and bool((err <= tol).all())
            worst = max(worst, float((err / tol).max()))
        del ref
        failures += not ok

        if op == "layer_norm":
            def eager():
                return torch.ops.aten.native_layer_norm_backward(
                    dy, x, [n], mean, rstd, gamma, beta, [True, True, True])
        else:
            def eager():
                xh = x.float() * rstd[:, None]
                wdy = dy.float() * gamma.float()
                dx = rstd[:, None] * (wdy - xh * (wdy * xh).mean(-1, keepdim=True))
                return dx.to(dt), (dy.float() * xh).sum(0).to(dt)
        copy = torch.empty_like(x)
        t_ours, _ = time_ms(torch, ours, iters)
        t_copy, _ = time_ms(torch, lambda: copy.copy_(x), iters)
        t_eager, _ = time_ms(torch, eager, iters)
        t_compiled = None
        if compile_budget and time.time() < START + compile_budget:
            try:
                compiled = torch.compile(eager, dynamic=False)
                compiled()
                t_compiled, _ = time_ms(torch, compiled, iters)
            except Exception as err:  # Inductor/Triton missing or failing
                print(f"torch.compile failed for {variant['name']}: {err}")
        moved = 3 * x.element_size() * x.numel()
        rows.append((variant["name"], ok, worst, t_ours, moved / t_ours / 1e6,
                     2 * x.element_size() * x.numel() / t_copy / 1e6,
                     moved / t_eager / 1e6, t_eager,
                     moved / t_compiled / 1e6 if t_compiled else None,
                     t_compiled))
        del x, dy, gamma, beta, outs, tensors, temporaries, copy
        torch.cuda.empty_cache()
    return rows, failures


def print_table(rows, device_name):
    print(f"\nnorm-mlir GPU kernels on {device_name} (GB/s = bytes read + written "
          "by the norm / time; memcpy: device-to-device copy of the input)")
    header = (f"{'variant':34} {'ok':3} {'max|err|':>9} {'ms':>8} {'GB/s':>7} "
              f"{'memcpy':>7} {'x cpy':>6} {'eager':>7} {'x eag':>6} "
              f"{'compile':>7} {'x cmp':>6}")
    print(header)
    print("-" * len(header))
    for (name, ok, worst, t, bw, bw_copy, bw_eager, t_eager, bw_comp, t_comp) in rows:
        comp = (f"{bw_comp:7.0f} {t_comp / t:6.2f}" if bw_comp else
                f"{'-':>7} {'-':>6}")
        print(f"{name:34} {'yes' if ok else 'NO':3} {worst:9.2e} {t:8.4f} {bw:7.0f} "
              f"{bw_copy:7.0f} {bw / bw_copy:6.2f} {bw_eager:7.0f} "
              f"{t_eager / t:6.2f} {comp}")
    print("(x cpy: our bandwidth / memcpy's; x eag, x cmp: their time / ours, "
          ">1 means ours is faster)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    parser.add_argument("--artefacts", help="default: ROOT/build/bench-gpu "
                        "or $NORM_GPU_ARTEFACTS")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the torch.compile baselines")
    parser.add_argument("--cases-only", action="store_true",
                        help="correctness cases only, no benchmark")
    args = parser.parse_args(argv)

    why = gpu_present()
    if why:
        print(f"bench/gpu/run.sh: no GPU: {why}.\n"
              "This harness runs the generated kernels on an NVIDIA GPU; run it "
              "on a machine that has one (nothing else was checked).")
        return 2
    artefacts = (args.artefacts or os.environ.get("NORM_GPU_ARTEFACTS") or
                 os.path.join(args.root, "build", "bench-gpu"))
    manifest = load_manifest(artefacts)
    if manifest is None:
        print(f"bench/gpu/run.sh: no manifest.json in {artefacts}; generate "
              "the kernels first (on a machine with LLVM/MLIR):\n"
              "  PYTHONPATH=python python3 -m norm_mlir.gpu.generate --out "
              "build/bench-gpu")
        return 2

    from norm_mlir.gpu.device import CudaDevice, run_cases
    device = CudaDevice()
    name = device.name()
    print(f"device: {name}, compute capability {device.capability()}")
    print("correctness cases (foundation sweep and quantised outputs, kernel "
          "ABI, static shapes):")
    failures = run_cases(device, artefacts)
    print(f"({time.time() - START:.0f} s)")
    if args.cases_only:
        return 1 if failures else 0
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch not found: benchmark skipped")
        return 1 if failures else 0
    rows, bench_failures = bench(device, manifest, artefacts, args.iters,
                                 None if args.no_compile else 170,
                                 START + 230)
    print_table(rows, name)
    grad_rows, grad_failures = bench_gradients(
        device, manifest, artefacts, args.iters,
        None if args.no_compile else 240, START + 275)
    if grad_rows:
        print("\nGradients (GB/s = x and dy read, dx written / time; "
              "max|err| column: worst error / tolerance)")
        print_table(grad_rows, name)
    bench_failures += grad_failures
    print(f"total {time.time() - START:.0f} s")
    return 1 if failures or bench_failures else 0


if __name__ == "__main__":
    sys.exit(main())
