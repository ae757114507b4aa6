"""Numerical equivalence of `--norm-capture`: original IR vs captured IR.

    python -m norm_mlir.testing.equiv FILE.mlir [options]

Every function in FILE (all `// -----` sections together; names must be
unique) is run twice on the same inputs: the original through the "upstream"
pipeline (TOSA legalised to linalg, bufferised, loops), and the result of
`norm-opt --norm-capture` (`--passes`) through the norm reference lowering
("linalg", with TOSA legalised first for any TOSA the capture left;
`--pipeline`). The
outputs must agree within docs/Tolerances.md, and (unless
--allow-uncaptured) every function must contain a norm op after capture.

Inputs come from the signature (core.types.parse_signature): dynamic dims get
--dyn; scalar arguments and tensors whose dims are all 1 get --eps (they are
epsilons); the first tensor is the data (--data); other tensors of the
output's rank are normal; smaller tensors (gamma, beta) are U(-1.5, 1.5), and
scale the tolerance by their largest magnitude. Memref arguments written by
`bufferization.materialize_in_destination` (or never read by
`bufferization.to_tensor`) are outputs.

So a test case is one file with RUN lines, e.g.

    // RUN: norm-opt %s --norm-capture | FileCheck %s
    // RUN: %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV
    // EQUIV: {{^}}3 passed, 0 failed

Exits non-zero on any mismatch.
"""

import argparse
import re
import subprocess
import sys

import numpy as np

from norm_mlir import reference
from norm_mlir.core import pipelines, tools, types
from norm_mlir.testing import harness

# TOSA legalisation, then the reference lowering of the norm ops.
CAPTURED_PIPELINE = pipelines.with_tosa("linalg")

_FUNC_RE = re.compile(r"func\.func\s+(?:public\s+)?@([\w$.-]+)\s*\(")
_NORM_RE = re.compile(r"norm\.(layer_norm|rms_norm)(?:\s+axis\((\d+)\))?")


def split_functions(ir):
    """{name: text} of the (non-private) functions in `ir`, in order."""
    funcs = {}
    matches = list(_FUNC_RE.finditer(ir))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(ir)
        text = ir[m.start():end]
        name = m.group(1)
        if name in funcs:
            raise ValueError(f"function @{name} defined twice; names must be unique")
        funcs[name] = text
    return funcs


_ALIAS_DEF_RE = re.compile(r"^([#!])([\w.$-]+)\s*=", re.MULTILINE)


def merge_sections(text):
    """The `// -----` sections of a test file as one module body; each
    section's attribute and type aliases are renamed apart."""
    sections = []
    for k, section in enumerate(text.split("// -----")):
        for sigil, name in set(_ALIAS_DEF_RE.findall(section)):
            section = re.sub(re.escape(sigil + name) + r"(?![\w.$-])",
                             f"{sigil}s{k}_{name}", section)
        sections.append(section)
    return "\n".join(sections)


def capture(ir, passes=("--norm-capture",)):
    """`ir` after `passes` (norm-opt flags: the capture, or the capture and
    fusion)."""
    cmd = [tools.norm_opt(), "-"] + list(passes)
    proc = subprocess.run(cmd, input=ir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise harness.HarnessError(f"{' '.join(passes)} failed:\n" +
                                   proc.stderr[-4000:])
    return proc.stdout


def _arg_names(ir, func):
    m = re.search(r"func\.func\s+(?:public\s+)?@" + re.escape(func) + r"\s*\(", ir)
    i, depth, start = m.end(), 1, m.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(ir[i], 0)
        i += 1
    return re.findall(r"(%[\w$.-]+)\s*:", ir[start:i - 1])


def _concrete(dims, dyn):
    return [dyn if d is None else d for d in dims]


def make_call(ir, func, body, args_spec, rng):
    """A harness.Call for `func` with generated inputs; returns (call,
    tolerance scale, output rank)."""
    arg_types, result_types = types.parse_signature(ir, func)
    names = _arg_names(ir, func)
    written = set(re.findall(r"materialize_in_destination\s+%[\w$.#-]+\s+in\s+"
                             r"(?:restrict\s+)?(?:writable\s+)?(%[\w$.-]+)", body))
    read = set(re.findall(r"bufferization\.to_tensor\s+(%[\w$.-]+)", body))
    # Linalg on memrefs: arguments an op writes (outs) before any reads them
    # (ins, memref.load) are outputs.
    first = {}
    for kind, group in re.findall(r"\b(ins|outs|memref\.load)\(?\s*([^:)]*)", body):
        for name in re.findall(r"%[\w$.-]+", group):
            first.setdefault(name, kind)
    written |= {name for name, kind in first.items() if kind == "outs"}
    read |= {name for name, kind in first.items() if kind != "outs"}
    outputs = []
    for i, (name, t) in enumerate(zip(names, arg_types)):
        if t.kind == "memref" and (name in written or (not written and name not in read)):
            outputs.append(i)
    out_types = [arg_types[i] for i in outputs] + list(result_types)
    out_rank = max((len(t.dims) for t in out_types), default=1)

    args, scale, data_done = [], 1.0, False
    for i, t in enumerate(arg_types):
        if t.kind == "scalar":
            args.append(args_spec.eps)
            continue
        shape = _concrete(t.dims, args_spec.dyn)
        if i in outputs:
            args.append(np.zeros(shape))
            continue
        if shape and all(d == 1 for d in shape) or not shape:
            values = np.full(shape, args_spec.eps)
        elif len(shape) >= out_rank:
            if not data_done and args_spec.data == "large_mean":
                values = 1e4 + rng.standard_normal(shape)
            elif args_spec.data == "uniform":
                values = rng.uniform(-1, 1, shape)
            else:
                values = rng.standard_normal(shape)
            data_done = True
        else:
            values = rng.uniform(-1.5, 1.5, shape)
            scale = max(scale, float(np.max(np.abs(values))))
        args.append(reference.round_to(values, t.dtype))
    result_shapes = [_concrete(t.dims, args_spec.dyn) for t in result_types]
    return harness.Call(func, args, outputs, result_shapes), scale, out_types


def tolerance(out_dtype, n, scale, data, ref):
    if out_dtype in ("f32", "f64"):
        base = 5e-3 if data == "large_mean" else 1e-5 * max(1.0, float(np.log2(max(n, 1))))
        return np.full(np.shape(ref), base * scale)
    magnitude = np.maximum(np.abs(np.nan_to_num(ref)), 1.0)
    return 2.0 * reference.ulp(magnitude, out_dtype) * scale


def run(path, args):
    text = open(path).read()
    original = merge_sections(text)
    captured = capture(original, args.passes.split())
    funcs = split_functions(original)
    captured_funcs = split_functions(captured)
    if args.func:
        funcs = {k: v for k, v in funcs.items() if k in args.func}
    rng = np.random.default_rng(args.seed)

    calls, meta = [], []
    for name, body in funcs.items():
        call, scale, out_types = make_call(original, name, body, args, rng)
        calls.append(call)
        norm_ops = _NORM_RE.findall(captured_funcs.get(name, ""))
        meta.append((name, scale, out_types, norm_ops))

    failures = 0
    expected_runs = harness.run_calls(original, calls, "upstream")
    actual_runs = harness.run_calls(captured, calls,
                                    args.pipeline or CAPTURED_PIPELINE)
    for (name, scale, out_types, norm_ops), expected, actual in zip(
            meta, expected_runs, actual_runs):
        problems = []
        if not norm_ops and not args.allow_uncaptured:
            problems.append("nothing was captured")
        worst = 0.0
        for k, (exp, act, t) in enumerate(zip(expected, actual, out_types)):
            shape = exp.shape
            if norm_ops:
                axis = norm_ops[0][1]
                axis = int(axis) if axis else len(shape) - 1
                n = int(np.prod(shape[axis:])) if shape else 1
            else:
                n = shape[-1] if shape else 1
            tol = tolerance(t.dtype, n, scale, args.data, exp)
            nan_mismatch = np.isnan(exp) != np.isnan(act)
            with np.errstate(invalid="ignore"):
                diff = np.where(np.isnan(exp) | np.isnan(act), 0.0, np.abs(exp - act))
            bad = nan_mismatch | (diff > tol)
            worst = max(worst, float(np.max(diff)) if diff.size else 0.0)
            if np.any(bad):
                idx = tuple(np.argwhere(bad)[0])
                problems.append(f"output {k}: {int(np.sum(bad))} elements differ, "
                                f"e.g. at {idx}: original {exp[idx]!r} vs "
                                f"captured {act[idx]!r} (tol {tol[idx]:.3g})")
        ops = ", ".join(f"norm.{kind}" for kind, _ in norm_ops) or "no norm op"
        if problems:
            failures += 1
            print(f"FAIL @{name} ({ops})")
            for p in problems:
                print(f"    {p}")
        else:
            print(f"ok   @{name} ({ops}) max |diff| {worst:.3g}")
    print(f"{len(meta) - failures} passed, {failures} failed")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--func", action="append", default=[],
                        help="only these functions (default: all)")
    parser.add_argument("--dyn", type=int, default=6,
                        help="size given to every dynamic dim")
    parser.add_argument("--eps", type=float, default=1e-5,
                        help="value of scalar and single-element arguments")
    parser.add_argument("--data", default="normal",
                        choices=["normal", "uniform", "large_mean"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allow-uncaptured", action="store_true",
                        help="do not require a norm op in every function")
    parser.add_argument("--passes", default="--norm-capture",
                        help="norm-opt flags making the captured side "
                        "(e.g. '--norm-capture --norm-fuse')")
    parser.add_argument("--pipeline",
                        help="lowering of the captured side (a pipeline name "
                        "or flags; default: TOSA to linalg, then 'linalg')")
    args = parser.parse_args(argv)
    try:
        return 1 if run(args.file, args) else 0
    except harness.HarnessError as err:
        print(f"FAIL {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
