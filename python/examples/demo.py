"""norm-mlir demo: a LayerNorm kernel through norm-opt, run, checked.

Shows the kernel, lowers it with the best pipeline this build has, runs it
on random data under mlir-runner, and prints the output next to the float64
reference with the error against shared/tolerances.md.
"""

import os
import subprocess
import sys

import numpy as np

from norm_mlir import reference
from norm_mlir.testing import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def registered(flag):
    help_text = subprocess.run([harness.norm_opt(), "--help"], capture_output=True,
                               text=True).stdout
    return flag in help_text


def main():
    path = os.path.join(ROOT, "examples", "layer_norm.mlir")
    with open(path) as f:
        kernel = f.read()
    print(f"== kernel ({os.path.relpath(path, ROOT)}) ==")
    print(kernel)

    pipeline = "cpu" if registered("--norm-cpu-pipeline") else "linalg"
    args = harness.pipeline_args(pipeline)
    print(f"== lowering: norm-opt {' '.join(args)} ==")
    lowered = subprocess.run([harness.norm_opt(), path] + args, capture_output=True,
                             text=True, check=True).stdout
    print(f"   {len(lowered.splitlines())} lines of LLVM dialect\n")

    rows, n = 64, 768
    rng = np.random.default_rng(0)
    x = reference.round_to(rng.standard_normal((rows, n)) * 2 + 0.5, "f32")
    gamma = reference.round_to(rng.uniform(0.5, 1.5, n), "f32")
    beta = reference.round_to(rng.uniform(-0.5, 0.5, n), "f32")
    call = harness.Call("layer_norm", [x, gamma, beta, np.zeros((rows, n))], [3])
    (out,), = harness.run_calls(kernel, [call], pipeline)

    ref = reference.layer_norm(x, gamma, beta, eps=1e-5)["out"]
    err = np.abs(out - ref)
    tol = reference.output_tolerance(ref, "f32", n, gamma=gamma)
    print(f"== run: {rows}x{n} f32 under mlir-runner ({pipeline} pipeline) ==")
    print("   first outputs :", np.array2string(out[0, :6], precision=6))
    print("   float64 ref   :", np.array2string(ref[0, :6], precision=6))
    print(f"   max |err| = {err.max():.3g}  (tolerance {tol.max():.3g})")
    ok = bool((err <= tol).all())
    print("   RESULT:", "agrees with the reference" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
