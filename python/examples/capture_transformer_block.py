#!/usr/bin/env python3
"""Captures the norms of a decomposed transformer block, runs it, checks it.

    PYTHONPATH=python /usr/bin/python3 python/examples/capture_transformer_block.py

Reads transformer_block.mlir (the MLP half of a pre-norm block, LayerNorm and
RMSNorm spelled out as linalg reductions), prints it, runs `norm-capture`
on it and prints the result (two norm ops where the chains were), then
JIT-compiles and runs both versions on the same random data and compares
them with the block written in torch (or in float64 numpy without torch).
"""

import os
import sys

import numpy as np

import norm_mlir
from norm_mlir import jit, reference

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENS, HIDDEN = 16, 64


def block_reference(x, r, g1, b1, w, g2):
    """The block in torch when available, else in float64 numpy."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        h = x.astype(np.float64) + r
        ln = reference.layer_norm(h, g1, b1, eps=1e-5)["out"]
        y = h + np.maximum(ln @ w, 0)
        return reference.rms_norm(y, g2, eps=1e-6)["out"], "numpy float64"
    t = lambda a: torch.from_numpy(a)
    h = t(x) + t(r)
    y = h + torch.relu(F.layer_norm(h, (HIDDEN,), t(g1), t(b1), 1e-5) @ t(w))
    out = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + 1e-6) * t(g2)
    return out.numpy().astype(np.float64), f"torch {torch.__version__}"


def run(ir, inputs, label):
    module = jit.JitModule(ir, source_name="transformer_block.mlir")
    out = np.zeros((TOKENS, HIDDEN), np.float32)
    module["block"](*inputs, out)
    print(f"   ran the {label} block through the '{module.pipeline}' pipeline")
    return out.astype(np.float64)


def main():
    with open(os.path.join(HERE, "transformer_block.mlir")) as f:
        ir = f.read()
    print("== before: the decomposed block ==")
    print(ir)

    captured = None
    if norm_mlir.has_pass("norm-capture"):
        captured = norm_mlir.capture(ir, source_name="transformer_block.mlir")
        print("== after norm-capture ==")
        print(captured)
        found = {op: captured.count(f"norm.{op}") for op in ("layer_norm", "rms_norm")}
        print(f"   captured: {found['layer_norm']} layer_norm, "
              f"{found['rms_norm']} rms_norm\n")
    else:
        print("== norm-capture is not in this build: running the decomposed "
              "block only ==\n")

    rng = np.random.default_rng(0)
    f32 = lambda a: a.astype(np.float32)
    inputs = [f32(rng.standard_normal((TOKENS, HIDDEN))),
              f32(rng.standard_normal((TOKENS, HIDDEN))),
              f32(rng.uniform(0.5, 1.5, HIDDEN)), f32(rng.uniform(-0.5, 0.5, HIDDEN)),
              f32(rng.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)),
              f32(rng.uniform(0.5, 1.5, HIDDEN))]
    want, what = block_reference(*inputs)

    print("== run ==")
    results = {"decomposed": run(ir, inputs, "decomposed")}
    if captured is not None:
        results["captured"] = run(captured, inputs, "captured")
    # f32 through a matmul of depth 64 between the norms: allow more than a
    # lone norm's bound.
    tol = 1e-4
    ok = True
    for label, got in results.items():
        err = float(np.max(np.abs(got - want)))
        ok &= err <= tol
        print(f"   {label:10s} vs {what}: max |err| = {err:.3g} (tolerance {tol:g})")
    if captured is not None:
        diff = float(np.max(np.abs(results["captured"] - results["decomposed"])))
        print(f"   captured vs decomposed: max |diff| = {diff:.3g}")
    print("RESULT:", "agrees" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
