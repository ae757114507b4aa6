"""Random differential tester: random norm programs through every pipeline,
executed on the CPU and compared with the float64 reference.

    python -m norm_mlir.testing.difftest --seed 1 --count 300
    python -m norm_mlir.testing.difftest --seed 1 --count 10000 -j 2
    python -m norm_mlir.testing.difftest --seed 1 --only 17 -v   # one case

Case `i` of seed `s` is generated from `numpy.random.default_rng([s, i])`
alone, so `--seed s --only i` reproduces it exactly, whatever else ran.
Cases are of three kinds:

- `norm`: a norm op with random shape (rank 1-4, odd sizes, static or
  dynamic), axis, element types (f32/f16/bf16/f64 in, float or quantised
  out), gamma/beta/residual/residual_out/mean/rstd, eps (attribute or
  operand), kernel ABI, in place or not (outs over x, residual_out over the
  residual), dynamic quantisation or not (scales per row or per group,
  floors, bounds) and input data (norm_cases.py spec keys; the spec is
  printed, and `python -m norm_mlir.testing.check --case SPEC` runs it too).
  Every norm pipeline must agree with the reference within tolerances.md.
- `chain`: a decomposed LayerNorm / RMSNorm in one of the spellings that
  `--norm-capture` recognises (linalg.generic, linalg named ops, arith/math
  on tensors, TOSA), with random shape, axis, gamma/beta, residual add, eps,
  and input/output casts. It must be captured (one norm op per chain), and
  the captured program must agree with the reference on every pipeline.
  One chain in ten rounds its variance (or mean) to f16/bf16 and runs
  behind `--norm-capture=widen-statistics=true`, which must capture it as
  the true norm.
- `grad`: a gradient op (norm.layer_norm_grad / norm.rms_norm_grad,
  grad_cases.py specs) with random shape, axis, element type, gamma, saved
  or recomputed statistics, residual gradient, outputs and ABI; every
  pipeline with a gradient lowering must agree with the float64 reference.
- `gradchain`, `gradnearmiss`: a decomposed norm input gradient (torch's
  backward decomposition or its distributed terms, in TOSA, saved or
  recomputed statistics; grad_chains.py), which must be captured into one
  gradient op agreeing with the reference; and near misses of it (no
  mean(wdy) term, a wrong N, a sum of x for xhat, an unbiased variance),
  which capture must leave bit-identical.
- `nearmiss`: the same chains with one change that alters the math (an
  unbiased variance, eps outside the square root, a wrong divisor,
  statistics rounded to f16/bf16, ...). It must not be captured, and on
  every pipeline its results with `--norm-capture` must be bit-identical to
  its results without.

Pipelines are discovered from `norm-opt --help` (NORM_OPT): a pipeline whose
passes are not registered is skipped and listed as such. GPU pipelines are
compiled (to PTX) but not run: this machine has no GPU.

Exits non-zero on any mismatch, compile failure or missed capture.
"""

import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from norm_mlir.core import pipelines as core_pipelines
from norm_mlir.core import tools
from norm_mlir.testing import harness
from norm_mlir.testing.chains import random_chain, random_shape
from norm_mlir.testing.fusions import random_fuse_case
from norm_mlir.testing.grad_cases import GradCase, random_grad_spec
from norm_mlir.testing.grad_chains import random_grad_chain
from norm_mlir.testing.norm_cases import NormCase, random_layout

# ---------------------------------------------------------------------------
# Pipelines
# ---------------------------------------------------------------------------

# The steps of the named pipelines (norm_mlir.core.pipelines), as textual
# pipeline elements.
_TOSA = core_pipelines.TOSA_TO_LINALG
_BUFFERIZE = core_pipelines.elements(core_pipelines.BUFFERIZE)
_TO_LLVM = core_pipelines.elements(core_pipelines.LOOPS_TO_LLVM)


@dataclass
class Pipeline:
    """A lowering to the LLVM dialect, as a textual pass pipeline on
    `builtin.module` (without the anchor); `compile_only` pipelines produce
    device code and are checked for compiling, not for numbers."""
    name: str
    passes: str
    needs: tuple  # pass names that must be registered
    compile_only: bool = False
    tensor_only: bool = False  # refuses memref-form norm ops
    # Runs through --norm-gpu-pipeline with these options on the CPU
    # emulator of the GPU kernels (norm_mlir.gpu.emulator), not `passes`.
    gpu_emulated: str = None
    norm_only: bool = False  # not for decomposed chains
    gradients: bool = True  # lowers the gradient ops

    def accepts(self, case):
        """Whether this pipeline takes the norm or gradient case `case`
        (others are refused with a diagnostic, tested elsewhere)."""
        if getattr(case, "is_gradient", False) and not self.gradients:
            return False
        return not (self.tensor_only and case.abi == "memref")

    def args(self, prefix=""):
        passes = f"{prefix},{self.passes}" if prefix else self.passes
        return [f"--pass-pipeline=builtin.module({passes})"]


def _candidate_pipelines():
    return [
        # Bufferize, reference lowering on memrefs, loops.
        Pipeline("linalg", f"{_TOSA},{_BUFFERIZE},convert-norm-to-linalg,{_TO_LLVM}",
                 ("convert-norm-to-linalg",)),
        # Reference lowering on tensors, then bufferize.
        Pipeline("linalg-tensor",
                 f"{_TOSA},convert-norm-to-linalg,{_BUFFERIZE},{_TO_LLVM}",
                 ("convert-norm-to-linalg",), tensor_only=True),
        # The CPU pipeline, default and with other vector shapes.
        Pipeline("cpu", f"{_TOSA},norm-cpu-pipeline", ("norm-cpu-pipeline",)),
        Pipeline("cpu-narrow",
                 f"{_TOSA},norm-cpu-pipeline{{vector-width=4 unroll=1}}",
                 ("norm-cpu-pipeline", "vector-width", "unroll")),
        Pipeline("cpu-wide",
                 f"{_TOSA},norm-cpu-pipeline{{vector-width=16 unroll=4}}",
                 ("norm-cpu-pipeline", "vector-width", "unroll")),
        Pipeline("cpu-odd",
                 f"{_TOSA},norm-cpu-pipeline{{vector-width=3 unroll=3 "
                 f"prefetch=false nontemporal-threshold=0}}",
                 ("norm-cpu-pipeline", "vector-width", "nontemporal-threshold")),
        Pipeline("cpu-openmp", f"{_TOSA},norm-cpu-pipeline{{openmp=true}}",
                 ("norm-cpu-pipeline", "openmp")),
        Pipeline("cpu-two-pass",
                 f"{_TOSA},norm-cpu-pipeline{{one-pass-variance=false}}",
                 ("norm-cpu-pipeline", "one-pass-variance")),
        # Fusion first (a no-op on a lone norm op; fuses chains' neighbours).
        Pipeline("fuse-cpu", f"{_TOSA},norm-fuse,norm-cpu-pipeline",
                 ("norm-fuse", "norm-cpu-pipeline")),
        Pipeline("fuse-linalg",
                 f"{_TOSA},norm-fuse,{_BUFFERIZE},convert-norm-to-linalg,{_TO_LLVM}",
                 ("norm-fuse", "convert-norm-to-linalg")),
        # The GPU pipeline, to PTX (compiled, not run), and its kernels run
        # on the CPU emulator, with the default and with small geometries.
        Pipeline("gpu-isa", f"{_TOSA},norm-gpu-pipeline{{format=isa}}",
                 ("norm-gpu-pipeline",), compile_only=True, norm_only=True),
        Pipeline("gpu-emulated", "", ("norm-gpu-pipeline",), norm_only=True,
                 gpu_emulated=""),
        Pipeline("gpu-emulated-small", "", ("norm-gpu-pipeline", "block-size",
                                            "rows-per-block"),
                 norm_only=True,
                 gpu_emulated="block-size=64 rows-per-block=4 vector-width=2"),
    ]


_REGISTERED = None
# mlir-runner's level: -O0 JITs ~3x faster than -O2 and computes the same
# numbers (no fast-math); --runner-opt=-O2 also exercises LLVM's optimiser.
RUNNER_OPT = "-O0"


def registered_names():
    """Pass, pipeline and option names that `norm-opt --help` mentions."""
    global _REGISTERED
    if _REGISTERED is None:
        proc = subprocess.run([tools.norm_opt(), "--help"], capture_output=True,
                              text=True)
        _REGISTERED = set(re.findall(r"--?([a-z][a-z0-9-]*)", proc.stdout))
    return _REGISTERED


def _have_gpu_emulator():
    """Whether the CPU emulator of the GPU kernels can run: it compiles
    them with clang."""
    return os.path.exists(tools.clang())


def available_pipelines(wanted=None):
    """(available, skipped) Pipelines, by name, restricted to `wanted`."""
    names = registered_names()
    available, skipped = {}, []
    for p in _candidate_pipelines():
        if wanted and p.name not in wanted:
            continue
        if p.gpu_emulated is not None and not _have_gpu_emulator():
            skipped.append(p.name)
            continue
        if all(n in names for n in p.needs):
            available[p.name] = p
        else:
            skipped.append(p.name)
    return available, skipped


# ---------------------------------------------------------------------------
# Random norm-op cases (norm_cases.py specs)
# ---------------------------------------------------------------------------

def random_norm_spec(rng):
    """A random norm_cases.py spec string."""
    words = random_layout(rng, random_shape)
    op, dtype = words[0].partition("=")[2], words[3].partition("=")[2]
    data = str(rng.choice(["normal"] * 6 + ["uniform"] * 3 +
                          ["large_mean", "constant", "nonfinite", "tiny", "huge",
                           "outlier"]))
    if data == "large_mean" and op == "rms_norm":
        data = "normal"
    if data in ("tiny", "huge") and dtype not in ("f32", "f64"):
        data = "normal"
    out = dtype
    scale = 0.0
    r = rng.random()
    if r < 0.12:
        out = str(rng.choice(["i8", "f8E4M3FN"]))
        scale = float(rng.choice([0.005, 0.01, 0.02, 0.05, 0.1]))
    elif r < 0.3 and dtype != "f64" and data not in ("tiny", "huge"):
        out = str(rng.choice(["f32", "f16", "bf16"]))
    if out != dtype:
        words.append(f"out={out}")
    if scale:
        words.append(f"scale={scale}")
    if rng.random() < 0.6:
        words.append("gamma")
    if op == "layer_norm" and rng.random() < 0.5:
        words.append("beta")
    if rng.random() < 0.25:
        words.append("residual")
        if rng.random() < 0.6:
            words.append("residual_out")
    if op == "layer_norm" and rng.random() < 0.2:
        words.append("mean")
    if rng.random() < 0.2:
        words.append("rstd")
    eps = float(rng.choice([1e-5, 1e-5, 1e-6, 1e-12, 1e-40, 1e-3, 0.5]))
    words.append(f"eps={eps!r}")
    if rng.random() < 0.2:
        words.append("eps_operand")
    if rng.random() < 0.25:
        words.append("dynamic")
    abi = str(rng.choice(["tensor", "tensor", "memref", "kernel"]))
    words.append("abi=" + abi)
    words.append(f"data={data}")
    words.append(f"seed={int(rng.integers(0, 2**31))}")
    # vLLM's in-place form, where a destination can take an input's buffer
    # (drawn last: the rest of a seed's cases stay as they were).
    if abi != "kernel" and (out == dtype or "residual_out" in words) and \
            rng.random() < 0.3:
        words.append("in_place")
    # Dynamic quantisation (drawn after everything else, for the same
    # reason): the output quantised with scales of each row, or of each
    # group of G elements of a row.
    if not scale and "in_place" not in words and rng.random() < 0.15:
        words = [w for w in words if not w.startswith("out=")]
        words += [f"out={rng.choice(['i8', 'f8E4M3FN'])}", "dynamic_quant"]
        shape = [int(d) for d in words[1].partition("=")[2].split("x")]
        axis = int(words[2].partition("=")[2])
        groups = [g for g in (1, 2, 3, 4, 8, 16, 32, 64, 128)
                  if shape[-1] % g == 0]
        if axis == len(shape) - 1 and rng.random() < 0.5:
            words.append(f"group={rng.choice(groups)}")
        if rng.random() < 0.5:
            words.append(f"min_scale={rng.choice([1e-6, 1e-3, 0.05])!r}")
        if rng.random() < 0.3:
            words.append(f"scale_ub={rng.choice([0.002, 0.01, 0.1])!r}")
    return " ".join(words)


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

def generate(seed, index, kinds):
    """Case `index` of `seed`: (kind, object)."""
    rng = np.random.default_rng([seed, index])
    kind = kinds[int(rng.integers(0, len(kinds)))]
    if kind == "norm":
        return kind, NormCase.parse(random_norm_spec(rng))
    if kind == "grad":
        return kind, GradCase.parse(random_grad_spec(rng, random_shape))
    if kind in ("gradchain", "gradnearmiss"):
        return kind, random_grad_chain(rng, random_shape,
                                       near_miss=(kind == "gradnearmiss"))
    if kind == "fuse":
        return kind, random_fuse_case(rng, random_shape)
    return kind, random_chain(rng, near_miss=(kind == "nearmiss"))


@dataclass
class Stats:
    cases: int = 0
    mismatches: int = 0
    errors: int = 0


@dataclass
class Report:
    per_pipeline: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    missed_captures: int = 0
    wrong_captures: int = 0
    missed_fusions: int = 0

    def stats(self, name):
        return self.per_pipeline.setdefault(name, Stats())


def _compile_only(kernels, pipeline):
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(kernels)
        path = f.name
    try:
        proc = subprocess.run([tools.norm_opt(), path, "-o", os.devnull] +
                              pipeline.args(), capture_output=True, text=True)
    finally:
        os.unlink(path)
    return proc


def _transformed_functions(items, prefix):
    """The text of each kernel (by name) of `items` after the pass (with
    options) `prefix`, from one norm-opt run; (None, error) if it fails."""
    ir = "\n".join(c.kernel_ir(f"k{i}") for i, c in items)
    proc = subprocess.run([tools.norm_opt(), "-",
                           f"--pass-pipeline=builtin.module({prefix})"], input=ir,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr[-3000:]
    bodies = {}
    for chunk in re.split(r"(?=func\.func @)", proc.stdout):
        m = re.match(r"func\.func @(\w+)", chunk)
        if m:
            bodies[m.group(1)] = chunk
    return bodies, ""


def _norm_call(case, func):
    values = case.inputs()
    args, outputs = case.call_args(values)
    shapes = ([s for _, s, _ in case.destinations()] if case.abi == "tensor" else [])
    return harness.Call(func, args, outputs, shapes), values


def _run_norm_batch(cases, pipeline, report):
    """cases: list of (index, NormCase). Returns failures (index, message)."""
    stats = report.stats(pipeline.name)
    cases = [(i, c) for i, c in cases if pipeline.accepts(c)]
    if not cases:
        return []
    kernels = "\n".join(c.kernel_ir(f"k{i}") for i, c in cases)
    if pipeline.compile_only:
        stats.cases += len(cases)
        proc = _compile_only(kernels, pipeline)
        if proc.returncode == 0:
            return []
        if len(cases) > 1:
            stats.cases -= len(cases)
            return [f for one in cases for f in _run_norm_batch([one], pipeline, report)]
        stats.errors += 1
        return [(cases[0][0], f"norm-opt failed:\n{proc.stderr[-3000:]}")]
    calls, data = [], []
    for i, c in cases:
        call, values = _norm_call(c, f"k{i}")
        calls.append(call)
        data.append(values)
    try:
        if pipeline.gpu_emulated is not None:
            # The emulator starts a host thread per GPU thread, block by
            # block, and a dynamic row gets a whole block: 8,001 such rows
            # take ~17 minutes on two cores. Allow time per row.
            rows = sum(math.prod(c.rows) for _, c in cases)
            results = harness.run_calls_emulated(
                kernels, calls, pipeline.gpu_emulated, timeout=600 + 0.25 * rows)
        else:
            results = harness.run_calls(kernels, calls, pipeline.args(),
                                        runner_opt=RUNNER_OPT)
    except (harness.HarnessError, RuntimeError) as err:
        if len(cases) > 1:
            return [f for one in cases for f in _run_norm_batch([one], pipeline, report)]
        stats.cases += 1
        stats.errors += 1
        return [(cases[0][0], str(err)[-3000:])]
    failures = []
    for (i, c), outs, values in zip(cases, results, data):
        stats.cases += 1
        problems = c.check(outs, values)
        if problems:
            stats.mismatches += 1
            failures.append((i, "; ".join(problems)))
    return failures


def _run_transform_batch(items, pipeline, report):
    """items: list of (index, Chain or FuseCase), run with their pass
    (`prefix`: norm-capture, norm-fuse) in front of the pipeline and, where
    the judgement needs it, without; each item judges its results."""
    stats = report.stats(pipeline.name)
    prefix = items[0][1].prefix
    kernels = "\n".join(c.kernel_ir(f"k{i}") for i, c in items)
    if pipeline.compile_only:
        proc = _compile_only(kernels, Pipeline(pipeline.name, prefix + "," +
                                               pipeline.passes, ()))
        stats.cases += len(items)
        if proc.returncode == 0 or len(items) == 1:
            if proc.returncode:
                stats.errors += 1
                return [(items[0][0], f"norm-opt failed:\n{proc.stderr[-3000:]}")]
            return []
        stats.cases -= len(items)
        return [f for one in items for f in _run_transform_batch([one], pipeline, report)]
    calls, data = [], []
    for i, c in items:
        values = c.inputs()
        calls.append(harness.Call(f"k{i}", c.args(values), [], [c.shape]))
        data.append(values)
    try:
        transformed = harness.run_calls(kernels, calls, pipeline.args(prefix),
                                        runner_opt=RUNNER_OPT)
        # Near-misses are compared with their original; fusion cases check
        # the original too.
        original = None
        if any(c.near_miss or c.prefix == "norm-fuse" for _, c in items):
            original = harness.run_calls(kernels, calls, pipeline.args(),
                                         runner_opt=RUNNER_OPT)
    except harness.HarnessError as err:
        if len(items) > 1:
            return [f for one in items for f in _run_transform_batch([one], pipeline, report)]
        stats.cases += 1
        stats.errors += 1
        return [(items[0][0], str(err)[-3000:])]
    failures = []
    for k, ((i, c), values) in enumerate(zip(items, data)):
        stats.cases += 1
        problems = c.judge(transformed[k][0],
                           original[k][0] if original else None, values)
        if problems:
            stats.mismatches += 1
            failures.append((i, "; ".join(problems)))
    return failures


def _by_prefix(items):
    """`items` ((index, case) pairs) grouped by the pass prefix of their
    case, in order of first appearance."""
    groups = {}
    for item in items:
        groups.setdefault(item[1].prefix, []).append(item)
    return groups


def run(seed, count, kinds, pipelines, start=0, batch=24, jobs=1, only=None,
        verbose=False, out=sys.stdout, sample=0):
    indices = [only] if only is not None else list(range(start, start + count))
    generated = [(i,) + generate(seed, i, kinds) for i in indices]
    report = Report()
    failures = []

    # Transformation checks: every chain captured (one norm op each), no
    # near-miss captured, every fusion case fused (the op shows the parts).
    chains = [(i, obj) for i, kind, obj in generated
              if kind in ("chain", "nearmiss", "gradchain", "gradnearmiss")]
    fuses = [(i, obj) for i, kind, obj in generated if kind == "fuse"]
    for prefix, group in _by_prefix(chains).items():
        if "norm-capture" not in registered_names():
            break
        bodies, err = _transformed_functions(group, prefix)
        for i, c in group:
            if bodies is None:
                failures.append((i, "norm-capture", f"{prefix} failed:\n{err}"))
                continue
            pattern = getattr(c, "capture_pattern",
                              r"norm\.(layer_norm|rms_norm)")
            n = len(re.findall(pattern, bodies.get(f"k{i}", "")))
            if c.near_miss and n:
                report.wrong_captures += 1
                failures.append((i, "norm-capture", f"near-miss captured ({n} ops)"))
            elif not c.near_miss and n != 1:
                report.missed_captures += 1
                failures.append((i, "norm-capture", f"not captured ({n} norm ops)"))
    if fuses and "norm-fuse" in registered_names():
        bodies, err = _transformed_functions(fuses, "norm-fuse")
        for i, c in fuses:
            if bodies is None:
                failures.append((i, "norm-fuse", f"norm-fuse failed:\n{err}"))
                continue
            body = bodies.get(f"k{i}", "")
            missing = [m for m in c.fused_markers() if m not in body]
            if c.out_dtype != c.dtype and not re.search(
                    r"outs\([^)]*x" + re.escape(c.out_dtype) + r">\)", body):
                missing.append(f"outs of {c.out_dtype}")
            if missing:
                report.missed_fusions += 1
                failures.append((i, "norm-fuse", "not fused: " + ", ".join(missing)))

    # Which pipelines each case runs through: all, or (with `sample`) the
    # reference lowering plus `sample` others drawn for the case alone.
    names = list(pipelines)
    if only is not None:
        sample = 0  # Reproducing one case: every pipeline asked for.

    def runs_on(index):
        if not sample or sample >= len(names):
            return set(names)
        rng = np.random.default_rng([seed, index, 1])
        others = [n for n in names if n != "linalg"]
        chosen = rng.choice(len(others), size=min(sample, len(others)),
                            replace=False)
        return {"linalg"} | {others[k] for k in chosen}
    chosen = {i: runs_on(i) for i, _, _ in generated}

    tasks = []
    for name, pipeline in pipelines.items():
        norm_cases = [(i, obj) for i, kind, obj in generated
                      if kind in ("norm", "grad") and name in chosen[i]]
        for s in range(0, len(norm_cases), batch):
            tasks.append((pipeline, "norm", norm_cases[s:s + batch]))
        for kind, items, needed in (("chain", chains, "norm-capture"),
                                    ("fuse", fuses, "norm-fuse")):
            if needed not in registered_names() or pipeline.norm_only:
                continue
            mine = [(i, c) for i, c in items if name in chosen[i]]
            # A batch runs behind one prefix (pass and options).
            for group in _by_prefix(mine).values():
                for s in range(0, len(group), batch):
                    tasks.append((pipeline, kind, group[s:s + batch]))

    def do(task):
        pipeline, kind, items = task
        runner = _run_norm_batch if kind == "norm" else _run_transform_batch
        return pipeline.name, runner(items, pipeline, report)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for name, fails in pool.map(do, tasks):
            failures += [(i, name, msg) for i, msg in fails]

    specs = {i: (obj.spec or "") for i, _, obj in generated}
    for i, name, msg in sorted(failures, key=lambda f: (f[0], f[1])):
        command = (f"python -m norm_mlir.testing.difftest --seed {seed} "
                   f"--only {i} --kinds {','.join(kinds)}")
        if name in pipelines:
            command += f" --pipelines {name}"
        print(f"FAIL [{name}] case {i}: {specs[i]}\n    {msg}\n"
              f"    reproduce: {command}", file=out)
    if verbose:
        for i, kind, obj in generated:
            print(f"case {i} [{kind}]: {obj.spec}", file=out)
    total = sum(s.cases for s in report.per_pipeline.values())
    for name, s in sorted(report.per_pipeline.items()):
        print(f"pipeline {name}: {s.cases} cases, {s.mismatches} mismatches, "
              f"{s.errors} errors", file=out)
    n_chains = sum(1 for _, k, _ in generated if k in ("chain", "gradchain"))
    n_near = sum(1 for _, k, _ in generated
                 if k in ("nearmiss", "gradnearmiss"))
    print(f"capture: {n_chains} chains, {report.missed_captures} not captured; "
          f"{n_near} near-misses, {report.wrong_captures} captured", file=out)
    print(f"fusion: {len(fuses)} cases, {report.missed_fusions} not fused",
          file=out)
    print(f"difftest: seed {seed}, {len(generated)} programs, {total} runs, "
          f"{len(failures)} failures", file=out)
    return len(failures)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200,
                        help="number of random programs (default 200)")
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--only", type=int, help="run only case ONLY")
    parser.add_argument("--kinds",
                        default="norm,chain,nearmiss,fuse,grad,gradchain,"
                        "gradnearmiss",
                        help="comma-separated: norm, chain, nearmiss, fuse, "
                        "grad, gradchain, gradnearmiss")
    parser.add_argument("--pipelines",
                        help="comma-separated pipeline names (default: every "
                        "available one: %s)" % ", ".join(
                            p.name for p in _candidate_pipelines()))
    parser.add_argument("--batch", type=int, default=24,
                        help="programs per compiled module")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="modules compiled and run at once")
    parser.add_argument("--sample", type=int, default=0,
                        help="run each program through the linalg pipeline "
                        "and SAMPLE others drawn for it (default: all)")
    parser.add_argument("--runner-opt", default="-O0",
                        help="mlir-runner optimisation level (default -O0)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    global RUNNER_OPT
    RUNNER_OPT = args.runner_opt
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in ("norm", "chain", "nearmiss", "fuse", "grad", "gradchain",
                     "gradnearmiss"):
            parser.error(f"unknown kind {k}")
    wanted = set(args.pipelines.split(",")) if args.pipelines else None
    pipelines, skipped = available_pipelines(wanted)
    if not pipelines:
        parser.error("no pipeline available")
    print(f"difftest: pipelines {', '.join(pipelines)}"
          + (f"; not registered: {', '.join(skipped)}" if skipped else ""))
    for pass_name, needs in (("norm-capture", ("chain", "nearmiss", "gradchain",
                                               "gradnearmiss")),
                             ("norm-fuse", ("fuse",))):
        if pass_name not in registered_names() and set(needs) & set(kinds):
            print(f"difftest: {pass_name} is not registered: no {', '.join(needs)}")
            kinds = [k for k in kinds if k not in needs] or ["norm"]
    begin = time.time()
    failures = run(args.seed, args.count, kinds, pipelines, args.start,
                   args.batch, args.jobs, args.only, args.verbose,
                   sample=args.sample)
    print(f"difftest: {time.time() - begin:.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
