"""Times PyTorch's LayerNorm and RMSNorm on the benchmark's configurations.

    /usr/bin/python3 bench/torch_bench.py --threads 1 layer_norm:f32:4096x768

LayerNorm is `torch.nn.functional.layer_norm`. PyTorch 1.13 (Debian's) has
no fused RMSNorm, so RMSNorm is the usual composition
`x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight`.
Both allocate their output on every call, as PyTorch does; the time of that
allocation alone (`torch.empty_like(x)` plus writing every page of it, minus
writing an existing tensor) is reported as `alloc_s`.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F


def time_runs(fn, min_time, min_reps, max_reps):
    fn()
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or
                                      time.perf_counter() - start < min_time):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)


def parse_worker_args(argv=None):
    """The options of a PyTorch timing process (this one, bench/grad.py's):
    threads (set), timing limits, configs; the seed is set too."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-time", type=float, default=0.4)
    parser.add_argument("--min-reps", type=int, default=5)
    parser.add_argument("--max-reps", type=int, default=200)
    parser.add_argument("configs", nargs="+")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args


def main():
    args = parse_worker_args()
    for text in args.configs:
        op, dtype, shape = text.split(":")
        rows, n = (int(d) for d in shape.split("x"))
        dt = torch.bfloat16 if dtype == "bf16" else torch.float32
        x = (torch.rand(rows, n) * 4 - 2).to(dt)
        g = (torch.rand(n) + 0.5).to(dt)
        b = (torch.rand(n) - 0.5).to(dt)
        if op == "layer_norm":
            def fn():
                return F.layer_norm(x, (n,), g, b, 1e-5)
        else:
            def fn():
                return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * g
        with torch.no_grad():
            times = time_runs(fn, args.min_time, args.min_reps, args.max_reps)
            y = torch.empty_like(x)
            fill = time_runs(lambda: y.fill_(0), 0.1, 5, 50)
            alloc = time_runs(lambda: torch.empty_like(x).fill_(0), 0.1, 5, 50)
        median = times[len(times) // 2]
        elem = x.element_size()
        params = 2 if op == "layer_norm" else 1
        nbytes = (2 * rows * n + params * n) * elem
        print(json.dumps({
            "impl": "torch", "op": op, "dtype": dtype, "rows": rows, "n": n,
            "threads": args.threads, "median_s": median, "min_s": times[0],
            "reps": len(times), "gbps": nbytes / median / 1e9,
            "alloc_s": max(0.0, alloc[len(alloc) // 2] - fill[len(fill) // 2]),
            "max_err": 0.0}), flush=True)


if __name__ == "__main__":
    main()
