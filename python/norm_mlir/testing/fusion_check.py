"""Executes every function of an MLIR test file before and after a
transformation (by default --norm-fuse) on the same inputs and compares the
outputs within tolerance.

    python -m norm_mlir.testing.fusion_check test/Transforms/NormFuse/affine.mlir

The file may hold several `// -----` separated chunks (as -split-input-file
tests do). Each function is called once with random inputs: N(0, 1) tensors
and 0.05 for float scalars and 0-d tensors (an epsilon or a scale); every
dynamic dim is 6. Both versions are lowered by the harness "linalg"
pipeline, after TOSA is legalised to linalg (or, with --after-pipeline cpu,
the transformed one by --norm-cpu-pipeline). Outputs agree when
  f32: |a - b| <= 1e-4 * max(1, |a|)   f64: 1e-12 * max(1, |a|)
  f16 / bf16: 2 ulp at max(1, |a|)     i8 / f8E4M3FN: one quantisation step
(NaN matching NaN). Fusion rounds once where the original rounded after
each step, so results may differ by that much and no more.

Prints `ok <function>` or `FAIL <function>: ...` per function, then
`N passed, M failed`; exits non-zero on any failure.
"""

import argparse
import re
import subprocess
import sys

import numpy as np

from norm_mlir import reference
from norm_mlir.core import pipelines, tools
from norm_mlir.core.types import parse_signature
from norm_mlir.testing import harness

_DYNAMIC_SIZE = 6
_SCALAR_VALUE = 0.05


def _module_bodies(text):
    """The bodies of the `module { ... }`s norm-opt printed, one per chunk."""
    bodies = []
    for chunk in text.split("// -----"):
        chunk = chunk.strip()
        if not chunk:
            continue
        start = chunk.index("{", chunk.index("module"))
        bodies.append(chunk[start + 1:chunk.rindex("}")])
    return bodies


def _print(path, flags):
    """The functions of `path` after `flags`, as one module's body, with
    affine maps printed inline (chunks' aliases would clash)."""
    cmd = [tools.norm_opt(), path, "--split-input-file",
           "--mlir-print-local-scope"] + flags
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise harness.HarnessError(" ".join(cmd) + "\n" + proc.stderr[-4000:])
    return "\n".join(_module_bodies(proc.stdout))


def _pipeline(name="linalg"):
    """TOSA legalisation, then the harness pipeline `name`, as one textual
    pipeline (norm-opt cannot mix --pass-pipeline with pass flags)."""
    return pipelines.with_tosa(name)


def _concrete(dims):
    return tuple(_DYNAMIC_SIZE if d is None else d for d in dims)


def _inputs(arg_types, rng):
    args = []
    for t in arg_types:
        if t.kind == "scalar" or not t.dims:
            value = _SCALAR_VALUE
            args.append(value if t.kind == "scalar" else np.array(value))
            continue
        values = rng.standard_normal(_concrete(t.dims))
        args.append(reference.round_to(values, t.dtype))
    return args


def _agree(a, b, dtype):
    """Elementwise: whether `b` is within tolerance of `a`."""
    both_nan = np.isnan(a) & np.isnan(b)
    scale = np.maximum(1.0, np.abs(np.nan_to_num(a)))
    if dtype == "f32":
        tol = 1e-4 * scale
    elif dtype == "f64":
        tol = 1e-12 * scale
    elif dtype in ("f16", "bf16"):
        tol = 2 * reference.ulp(scale, dtype)
    else:
        tol = reference.quantization_step(a, dtype)
    with np.errstate(invalid="ignore"):
        return both_nan | (np.abs(a - b) <= tol)


def check(path, flags, seed=0, after_pipeline="linalg"):
    original = _print(path, [])
    transformed = _print(path, flags)
    funcs = re.findall(r"func\.func\s+(?:public\s+)?@([\w$.]+)", original)
    rng = np.random.default_rng(seed)
    calls, result_types = [], []
    for func in funcs:
        arg_types, results = parse_signature(original, func)
        calls.append(harness.Call(func, _inputs(arg_types, rng), [],
                                  [_concrete(r.dims) for r in results]))
        result_types.append(results)
    before = harness.run_calls(original, calls, _pipeline())
    after = harness.run_calls(transformed, calls, _pipeline(after_pipeline))
    failures = 0
    for func, types, outs0, outs1 in zip(funcs, result_types, before, after):
        problems = []
        for i, (t, a, b) in enumerate(zip(types, outs0, outs1)):
            ok = _agree(a, b, t.dtype)
            if not ok.all():
                worst = np.nanmax(np.abs(a - b)[~ok]) if (~ok).any() else 0
                problems.append(f"result {i} ({t.text}): {int((~ok).sum())} "
                                f"of {ok.size} differ, worst {worst:.3g}")
        if problems:
            failures += 1
            print(f"FAIL {func}: " + "; ".join(problems))
        else:
            print(f"ok   {func}")
    print(f"{len(funcs) - failures} passed, {failures} failed")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--flags", default="--norm-fuse",
                        help="norm-opt flags of the transformation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--after-pipeline", default="linalg",
                        help="harness pipeline lowering the transformed IR")
    args = parser.parse_args(argv)
    return 1 if check(args.file, args.flags.split(), args.seed,
                      args.after_pipeline) else 0


if __name__ == "__main__":
    sys.exit(main())
