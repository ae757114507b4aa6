"""The project's lowering pipelines, by name, as norm-opt flags, and the
helpers that write flags as textual pass pipelines.

Each named pipeline takes a module of tensor or memref functions (norm ops,
linalg, tensor, arith, math, bufferization) to the LLVM dialect:

- `linalg`: bufferize (norm ops included), the reference lowering on
  memrefs, upstream's plain loop lowering; handles every kernel ABI;
- `linalg-tensor`: the reference lowering on tensors, then as `linalg`
  (memref-form norm ops would be lowered with their own deallocations,
  which upstream's deallocation pipeline refuses: use `linalg` for those);
- `upstream`: upstream passes only, for IR without norm ops (decomposed
  originals), TOSA legalised to linalg first;
- `cpu`: the project's CPU pipeline, `--norm-cpu-pipeline`.
"""

import shlex

ANCHOR = "builtin.module"

BUFFERIZE = [
    "--convert-elementwise-to-linalg",
    "--eliminate-empty-tensors",
    "--one-shot-bufferize=bufferize-function-boundaries",
    "--buffer-deallocation-pipeline",
    # Clones of returned buffers the deallocation pipeline inserts.
    "--convert-bufferization-to-memref",
]
LOOPS_TO_LLVM = [
    "--convert-linalg-to-loops",
    "--expand-strided-metadata",
    "--lower-affine",
    "--convert-scf-to-cf",
    "--norm-expand-fp8-casts",
    "--convert-to-llvm",
    "--reconcile-unrealized-casts",
]
# TOSA legalisation, nested on functions, as an element of a textual pipeline.
TOSA_TO_LINALG = ("func.func(tosa-to-linalg-named,tosa-to-linalg,tosa-to-arith,"
                  "tosa-to-tensor)")


def textual(flag):
    """`--pass=opt` as it reads in a textual pipeline: `pass{opt}`. A
    `--pass-pipeline=builtin.module(...)` flag gives its elements."""
    name, _, options = flag[2:].partition("=")
    if name == "pass-pipeline":
        return unanchor(options)
    return f"{name}{{{options}}}" if options else name


def unanchor(text):
    """The elements of the textual pipeline `builtin.module(...)`."""
    prefix = ANCHOR + "("
    text = text.strip()
    if not (text.startswith(prefix) and text.endswith(")")):
        raise ValueError(f"a textual pipeline must be anchored on {ANCHOR}, "
                         f"got {text!r}")
    return text[len(prefix):-1]


def elements(passes):
    """`passes` (pass flags, or textual elements such as TOSA_TO_LINALG) as
    the comma-separated elements of a textual pipeline."""
    return ",".join(textual(p) if p.startswith("--") else p for p in passes)


def textual_pipeline(passes):
    """One `--pass-pipeline` flag running `passes` (pass flags, or textual
    elements such as TOSA_TO_LINALG) on the module."""
    return f"--pass-pipeline={ANCHOR}({elements(passes)})"


PIPELINES = {
    "linalg": BUFFERIZE + ["--convert-norm-to-linalg"] + LOOPS_TO_LLVM,
    "linalg-tensor": ["--convert-norm-to-linalg"] + BUFFERIZE + LOOPS_TO_LLVM,
    # One textual pipeline: norm-opt refuses --pass-pipeline next to
    # individual pass flags, and the TOSA passes must nest on func.func.
    "upstream": [textual_pipeline([TOSA_TO_LINALG] + BUFFERIZE + LOOPS_TO_LLVM)],
    "cpu": ["--norm-cpu-pipeline"],
}


def pipeline_args(pipeline):
    """norm-opt arguments for `pipeline`: a PIPELINES name, one string of
    flags, or a list of flags."""
    if isinstance(pipeline, str):
        if pipeline in PIPELINES:
            return list(PIPELINES[pipeline])
        # Quotes keep a flag with spaces whole: "'--norm-cpu-pipeline=a=1 b=2'".
        return shlex.split(pipeline)
    return list(pipeline)


def with_tosa(pipeline):
    """TOSA legalisation, then `pipeline` (as pipeline_args takes it), as one
    `--pass-pipeline` flag in a list (norm-opt cannot mix --pass-pipeline
    with pass flags)."""
    return [textual_pipeline([TOSA_TO_LINALG] + pipeline_args(pipeline))]
