#!/usr/bin/env python3
"""A whole Llama-style decoder layer, end to end: torch-mlir's linalg form
compiled with norm-mlir's capture and fusion and upstream MLIR for the rest,
checked against PyTorch and float64, and timed against the same pipeline
without norm-mlir.

    /usr/bin/python3 bench/decoder_layer.py [--hidden 512] [--heads 8]
        [--tokens 64] [--max-tokens 128] [--rounds 7] [--norm-calls 200]
        [--json bench/out/decoder_layer.json]

The layer (python/norm_mlir/testing/models.py, `llama`): RMSNorm, Q/K/V
projections (`linalg.matmul`), attention with a causal softmax
(`linalg.batch_matmul`, generics), output projection plus residual,
RMSNorm, SwiGLU MLP plus residual; a dynamic token count
(`tensor<1x?xHxf32>`). Two compilations of the same IR:

  - norm-mlir: `--norm-capture --norm-fuse --norm-cpu-pipeline` (the two
    RMSNorms become norm ops, the second with the residual add fused; the
    pipeline lowers the norm ops with the project's CPU kernels and
    everything else as upstream MLIR does);
  - upstream: `--norm-cpu-pipeline` alone (no norm op in the module: every
    op, the decomposed norms included, lowered as upstream MLIR does).

Both run in the JIT (norm_mlir.JitModule, one thread) on the same inputs.
The outputs are checked against the same layer written in PyTorch
(Debian's python3-torch, float32) and against float64 numpy; the bound is
the one of `models check` (four times the original program's own distance
from float64, plus 1e-5 * log2(hidden)). The time of the layer without its
norms (each RMSNorm replaced by the identity, lowered the same way) gives
the norms' share of the layer's time under each compilation; as the
norms are a small part of it, whose difference can drown in the noise of
the whole layer, they are also timed alone: a module of only the layer's
two RMSNorms and their residual sums, in the same spellings, compiled both
ways and called many times a round.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))

from norm_mlir import JitModule  # noqa: E402
from norm_mlir.testing import models  # noqa: E402

OURS = "--norm-capture --norm-fuse --norm-cpu-pipeline"
UPSTREAM = "--norm-cpu-pipeline"


def torch_layer(config, v, x):
    """The same layer in PyTorch, float32."""
    import torch  # noqa: PLC0415

    def t(name):
        return torch.tensor(v[name], dtype=torch.float32)

    def rms_norm(h, g):
        variance = h.pow(2).mean(-1, keepdim=True)
        return g * (h * torch.rsqrt(variance + config.eps))

    h = torch.tensor(x, dtype=torch.float32)
    s = h.shape[1]
    nh, hd = config.heads, config.head_dim
    with torch.no_grad():
        for i in range(config.layers):
            p = lambda n: t(f"l{i}_{n}")  # noqa: E731
            a = rms_norm(h, p("attn_norm_g"))
            q, k, vv = (torch.nn.functional.linear(a, p(f"{n}_w"))
                        .view(1, s, nh, hd).transpose(1, 2) for n in "qkv")
            scores = q @ k.transpose(2, 3) / np.sqrt(hd)
            mask = torch.tril(torch.ones(s, s, dtype=torch.bool))
            scores = scores.masked_fill(~mask, torch.finfo(torch.float32).min)
            ctx = (scores.softmax(-1) @ vv).transpose(1, 2).reshape(1, s, -1)
            h = h + torch.nn.functional.linear(ctx, p("o_w"))
            m = rms_norm(h, p("ffn_norm_g"))
            gate = torch.nn.functional.silu(torch.nn.functional.linear(
                m, p("gate_w")))
            up = torch.nn.functional.linear(m, p("up_w"))
            h = h + torch.nn.functional.linear(gate * up, p("down_w"))
    return h.numpy().astype(np.float64)


def median_times(fns, rounds, calls=1):
    """Seconds per call of each function in the dict `fns`, the median
    over `rounds` of `calls` calls each; the rounds alternate between the
    functions, so that load on a shared machine hits them alike."""
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            samples[name].append((time.perf_counter() - start) / calls)
    return {name: float(np.median(v)) for name, v in samples.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--norm-calls", type=int, default=200,
                        help="calls a round of the norms-only modules")
    parser.add_argument("--check-only", action="store_true",
                        help="compile and check, do not time")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    config = models.default_config("llama", layers=args.layers, hidden=args.hidden,
                                   heads=args.heads, seq=args.max_tokens,
                                   dynamic=True)
    rng = np.random.default_rng(0)
    values = models.make_inputs(config, rng)
    x = values["x"][:, :args.tokens]
    names = [name for name, _ in models.parameters(config)]
    arrays = [np.ascontiguousarray(x, np.float32)] + [
        np.ascontiguousarray(values[n], np.float32) for n in names]

    print(f"Llama decoder layer x{config.layers}: hidden {config.hidden}, "
          f"{config.heads} heads, MLP {config.ffn}, {args.tokens} tokens "
          f"(dynamic), f32, 1 thread")
    ir = models.emit(config, abi="kernel")
    ir_without_norms = models.emit(config, abi="kernel", norms=False)
    ir_norms_only = models.emit(config, abi="kernel", norms_only=True)
    runs = {}
    for name, pipeline, text in (("norm-mlir", OURS, ir),
                                 ("upstream", UPSTREAM, ir),
                                 ("norm-mlir, no norms", OURS, ir_without_norms),
                                 ("upstream, no norms", UPSTREAM, ir_without_norms),
                                 ("norm-mlir, norms only", OURS, ir_norms_only),
                                 ("upstream, norms only", UPSTREAM, ir_norms_only)):
        start = time.perf_counter()
        module = JitModule(text, pipeline)
        compile_s = time.perf_counter() - start
        fn = module["forward"]
        out = np.zeros((1, args.tokens, config.hidden), np.float32)
        runs[name] = {"fn": fn, "out": out, "compile_s": compile_s,
                      "call": (lambda fn=fn, out=out: fn(*arrays, out))}
        runs[name]["call"]()

    sub = models.ModelConfig(**{**config.__dict__, "seq": args.tokens})
    want = models.reference(sub, {**values, "x": x})
    torch_out = torch_layer(config, values, x)
    ours = runs["norm-mlir"]["out"].astype(np.float64)
    upstream = runs["upstream"]["out"].astype(np.float64)
    own_error = float(np.max(np.abs(upstream - want)))
    bound = 4.0 * own_error + 1e-5 * np.log2(config.hidden)
    diffs = {
        "norm-mlir vs float64": float(np.max(np.abs(ours - want))),
        "upstream vs float64": own_error,
        "torch vs float64": float(np.max(np.abs(torch_out - want))),
        "norm-mlir vs torch": float(np.max(np.abs(ours - torch_out))),
        "norm-mlir vs upstream": float(np.max(np.abs(ours - upstream))),
    }
    # The norms-only modules compute the same thing both ways.
    norms_only_ours = runs["norm-mlir, norms only"]["out"].astype(np.float64)
    norms_only_upstream = runs["upstream, norms only"]["out"].astype(np.float64)
    diffs["norms only: norm-mlir vs upstream"] = float(
        np.max(np.abs(norms_only_ours - norms_only_upstream)))
    ok = all(diffs[k] <= bound for k in ("norm-mlir vs float64",
                                          "norm-mlir vs torch",
                                          "norm-mlir vs upstream",
                                          "norms only: norm-mlir vs upstream"))
    for key, value in diffs.items():
        print(f"  max |{key}| = {value:.3g}")
    print(f"  bound {bound:.3g}: {'ok' if ok else 'FAIL'}")
    result = {"config": {**config.__dict__, "tokens": args.tokens},
              "diffs": diffs, "bound": bound, "ok": ok}
    if not args.check_only:
        times = median_times({name: run["call"] for name, run in runs.items()
                              if "norms only" not in name}, args.rounds)
        times.update(median_times(
            {name: run["call"] for name, run in runs.items()
             if "norms only" in name}, args.rounds, calls=args.norm_calls))
        print()
        print("| compilation | layer ms | layer without norms ms | "
              "layer minus that ms | norms alone ms | norms' share | "
              "compile s |")
        print("|---|---|---|---|---|---|---|")
        for name in ("upstream", "norm-mlir"):
            layer = times[name]
            rest = times[f"{name}, no norms"]
            alone = times[f"{name}, norms only"]
            print(f"| {name} | {layer * 1e3:.2f} | {rest * 1e3:.2f} | "
                  f"{(layer - rest) * 1e3:+.3f} | {alone * 1e3:.4f} | "
                  f"{100 * alone / layer:.2f}% | "
                  f"{runs[name]['compile_s']:.2f} |")
        print(f"\nlayer speed-up with norm-mlir: "
              f"{times['upstream'] / times['norm-mlir']:.3f}x; the norms "
              f"alone: {times['upstream, norms only'] / times['norm-mlir, norms only']:.2f}x")
        result["times_s"] = times
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
