"""Runs MLIR kernels on concrete inputs and returns their outputs exactly.

A kernel is a `func.func` taking tensors or memrefs (and float scalars). The
harness appends a `main` that materialises the inputs as hex-encoded
`memref.global`s (bit-exact), calls each kernel, and prints every output
element as its integer bit pattern, then lowers the module through a
norm-opt pipeline and runs it with mlir-runner. Several kernels run in one
module, so a sweep pays the JIT start-up once.
"""

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

import numpy as np

from norm_mlir import reference

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _tool(name, env_var=None):
    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    tools_dir = os.environ.get("MLIR_TOOLS_DIR", "/usr/lib/llvm-22/bin")
    candidate = os.path.join(tools_dir, name)
    if os.path.exists(candidate):
        return candidate
    return shutil.which(name) or name


def norm_opt():
    local = os.path.join(_ROOT, "build", "bin", "norm-opt")
    return os.environ.get("NORM_OPT") or local


def runner_libs():
    lib_dir = os.environ.get("MLIR_LIB_DIR", "/usr/lib/llvm-22/lib")
    return [os.path.join(lib_dir, "libmlir_runner_utils.so"),
            os.path.join(lib_dir, "libmlir_c_runner_utils.so")]


# Lowering pipelines, by name. Each takes a module of tensor or memref
# functions (norm ops, linalg, tensor, arith, math, bufferization) to the
# LLVM dialect.
_BUFFERIZE = [
    "--convert-elementwise-to-linalg",
    "--eliminate-empty-tensors",
    "--one-shot-bufferize=bufferize-function-boundaries",
    "--buffer-deallocation-pipeline",
    # Clones of returned buffers the deallocation pipeline inserts.
    "--convert-bufferization-to-memref",
]
_LOOPS_TO_LLVM = [
    "--convert-linalg-to-loops",
    "--expand-strided-metadata",
    "--lower-affine",
    "--convert-scf-to-cf",
    "--norm-expand-fp8-casts",
    "--convert-to-llvm",
    "--reconcile-unrealized-casts",
]
def _textual(flag):
    """`--pass=opt` as it reads in a textual pipeline: `pass{opt}`."""
    name, _, options = flag[2:].partition("=")
    return f"{name}{{{options}}}" if options else name


# TOSA legalisation, nested on functions, as an element of a textual pipeline.
TOSA_TO_LINALG = ("func.func(tosa-to-linalg-named,tosa-to-linalg,tosa-to-arith,"
                  "tosa-to-tensor)")


def textual_pipeline(passes):
    """One `--pass-pipeline` flag running `passes` (pass flags, or textual
    elements such as TOSA_TO_LINALG) on the module."""
    elements = [_textual(p) if p.startswith("--") else p for p in passes]
    return "--pass-pipeline=builtin.module(" + ",".join(elements) + ")"


PIPELINES = {
    # Bufferize (norm ops included), then the reference lowering on memrefs,
    # then upstream's plain loop lowering. Handles every kernel ABI.
    "linalg": _BUFFERIZE + ["--convert-norm-to-linalg"] + _LOOPS_TO_LLVM,
    # The reference lowering on tensors, then bufferize. (Memref-form norm
    # ops would be lowered with their own deallocations, which upstream's
    # deallocation pipeline refuses: use "linalg" for those.)
    "linalg-tensor": ["--convert-norm-to-linalg"] + _BUFFERIZE + _LOOPS_TO_LLVM,
    # Upstream only, for IR without norm ops (e.g. decomposed originals);
    # TOSA is legalised to linalg first.
    # (One textual pipeline: norm-opt refuses --pass-pipeline next to
    # individual pass flags, and the TOSA passes must nest on func.func.)
    "upstream": [
        "--pass-pipeline=builtin.module(func.func(tosa-to-linalg-named,"
        "tosa-to-linalg,tosa-to-arith,tosa-to-tensor)," +
        ",".join(_textual(flag) for flag in _BUFFERIZE + _LOOPS_TO_LLVM) + ")"],
    # The project's CPU pipeline.
    "cpu": ["--norm-cpu-pipeline"],
}


def pipeline_args(pipeline):
    if isinstance(pipeline, str):
        if pipeline in PIPELINES:
            return list(PIPELINES[pipeline])
        # Quotes keep a flag with spaces whole: "'--norm-cpu-pipeline=a=1 b=2'".
        return shlex.split(pipeline)
    return list(pipeline)


_ELEM_RE = r"(f64|f32|f16|bf16|i8|f8E4M3FN)"


@dataclass
class ArgType:
    """A kernel argument or result type: `tensor<...>`, `memref<...>` or a
    float scalar."""
    text: str
    kind: str  # "tensor", "memref" or "scalar"
    dims: list  # None for dynamic dims
    dtype: str

    @staticmethod
    def parse(text):
        text = text.strip()
        m = re.fullmatch(r"(tensor|memref)<(.*)>", text)
        if not m:
            if re.fullmatch(_ELEM_RE, text):
                return ArgType(text, "scalar", [], text)
            raise ValueError(f"unsupported kernel type {text}")
        kind, body = m.groups()
        body = body.split(",")[0]  # drop a memref layout
        parts = body.split("x")
        dtype = parts[-1]
        if not re.fullmatch(_ELEM_RE, dtype):
            raise ValueError(f"unsupported element type in {text}")
        dims = [None if p == "?" else int(p) for p in parts[:-1]]
        return ArgType(text, kind, dims, dtype)


def _split_top_level(text):
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def parse_signature(ir, func):
    """Argument and result types of `func.func @func` in `ir`."""
    m = re.search(r"func\.func\s+(?:public\s+)?@" + re.escape(func) + r"\s*\(", ir)
    if not m:
        raise ValueError(f"no function @{func}")
    i, depth = m.end(), 1
    start = i
    while depth:
        depth += {"(": 1, ")": -1}.get(ir[i], 0)
        i += 1
    args_text = ir[start:i - 1]
    arg_types = []
    for arg in _split_top_level(args_text):
        type_text = arg.split(":", 1)[1]
        type_text = re.sub(r"\{.*\}\s*$", "", type_text.strip())
        arg_types.append(ArgType.parse(type_text))
    rest = ir[i:].lstrip()
    results = []
    if rest.startswith("->"):
        rest = rest[2:].lstrip()
        if rest.startswith("("):
            depth, j = 1, 1
            while depth:
                depth += {"(": 1, ")": -1}.get(rest[j], 0)
                j += 1
            results = [ArgType.parse(t) for t in _split_top_level(rest[1:j - 1])]
        else:
            results = [ArgType.parse(re.match(r"[^\s{]+", rest).group(0))]
    return arg_types, results


@dataclass
class Call:
    """One kernel call: its values for every argument (numpy arrays of
    float64 values already representable in the element type, or floats for
    scalars), and which memref arguments are outputs (filled by the kernel)."""
    func: str
    args: list
    output_args: list = field(default_factory=list)
    # Concrete shapes of the tensor results, in order.
    result_shapes: list = field(default_factory=list)


def mlir_float(value):
    """`value` as an MLIR float literal (always with a '.')."""
    text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")


def _static_type(arg_type, shape):
    dims = "x".join(str(d) for d in shape)
    body = f"{dims}x{arg_type.dtype}" if shape else arg_type.dtype
    return f"{arg_type.kind}<{body}>"


def _int_type(dtype):
    return {"f64": "i64", "f32": "i32", "f16": "i16", "bf16": "i16",
            "i8": "i8", "f8E4M3FN": "i8"}[dtype]


def _print_loops(lines, memref, shape, dtype, prefix):
    """Emits loops printing every element of `memref` as its bit pattern."""
    rank = len(shape)
    ivs = []
    lines.append(f"    %{prefix}c0 = arith.constant 0 : index")
    lines.append(f"    %{prefix}c1 = arith.constant 1 : index")
    for d in range(rank):
        lines.append(f"    %{prefix}n{d} = arith.constant {shape[d]} : index")
        lines.append(f"    scf.for %{prefix}i{d} = %{prefix}c0 to %{prefix}n{d} "
                     f"step %{prefix}c1 {{")
        ivs.append(f"%{prefix}i{d}")
    mtype = f"memref<{'x'.join(map(str, shape))}{'x' if shape else ''}{dtype}>"
    lines.append(f"    %{prefix}v = memref.load {memref}[{', '.join(ivs)}] : {mtype}")
    itype = _int_type(dtype)
    bits = f"%{prefix}v"
    if itype != dtype:  # Floats print as their bit patterns.
        bits = f"%{prefix}b"
        lines.append(f"    {bits} = arith.bitcast %{prefix}v : {dtype} to {itype}")
    if itype != "i64":
        lines.append(f"    %{prefix}w = arith.extui {bits} : {itype} to i64")
        value = f"%{prefix}w"
    else:
        value = bits
    lines.append(f"    func.call @printI64({value}) : (i64) -> ()")
    lines.append("    func.call @printNewline() : () -> ()")
    for _ in range(rank):
        lines.append("    }")


# Bytes of guard on each side of an output buffer, and their value.
GUARD_BYTES = 64
GUARD_VALUE = 0x5A
GUARD_MARKER = "-987654321"


def _guarded_alloc(lines, name, static, shape, dtype):
    """Allocates the output buffer `name`_m (type `static`) inside a larger
    byte buffer whose GUARD_BYTES on either side hold GUARD_VALUE; returns
    the code that counts the guard bytes changed after the call into
    `name`_bad (i64), or None when the element type has no byte size."""
    try:
        size = int(_int_type(dtype)[1:]) // 8
    except KeyError:
        return None
    total = int(np.prod(shape)) * size if shape else size
    full = total + 2 * GUARD_BYTES
    btype = f"memref<{full}xi8>"
    lines.append(f"    {name}_g = memref.alloc() {{alignment = 64 : i64}} : {btype}")
    lines.append(f"    {name}_gv = arith.constant {GUARD_VALUE} : i8")
    lines.append(f"    linalg.fill ins({name}_gv : i8) outs({name}_g : {btype})")
    lines.append(f"    {name}_go = arith.constant {GUARD_BYTES} : index")
    lines.append(f"    {name}_m = memref.view {name}_g[{name}_go][] : {btype} "
                 f"to {static}")
    check = [f"    {name}_z = arith.constant 0 : i64",
             f"    {name}_one = arith.constant 1 : index"]
    count = f"{name}_z"
    for side, (begin, end) in enumerate(((0, GUARD_BYTES),
                                         (GUARD_BYTES + total, full))):
        check += [
            f"    {name}_b{side} = arith.constant {begin} : index",
            f"    {name}_e{side} = arith.constant {end} : index",
            f"    {name}_n{side} = scf.for {name}_i{side} = {name}_b{side} to "
            f"{name}_e{side} step {name}_one iter_args({name}_a{side} = {count}) "
            "-> (i64) {",
            f"      {name}_l{side} = memref.load {name}_g[{name}_i{side}] : {btype}",
            f"      {name}_d{side} = arith.cmpi ne, {name}_l{side}, {name}_gv : i8",
            f"      {name}_x{side} = arith.extui {name}_d{side} : i1 to i64",
            f"      {name}_s{side} = arith.addi {name}_a{side}, {name}_x{side} : i64",
            f"      scf.yield {name}_s{side} : i64",
            "    }",
        ]
        count = f"{name}_n{side}"
    return check, count


def build_module(kernel_ir, calls, guard=False):
    """The kernel IR plus globals and a `main` that runs `calls` and prints
    `NORM-OUT <call> <output>` followed by one bit pattern per line. With
    `guard`, memref output buffers sit between guard bytes, and `main`
    prints, per output, how many of them the call changed (GUARD_MARKER)."""
    globals_, lines = [], []
    out_specs = []
    for ci, call in enumerate(calls):
        arg_types, result_types = parse_signature(kernel_ir, call.func)
        if len(arg_types) != len(call.args):
            raise ValueError(f"@{call.func} takes {len(arg_types)} args, "
                             f"got {len(call.args)}")
        operands = []
        out_buffers = []
        guard_checks = []
        for ai, (atype, value) in enumerate(zip(arg_types, call.args)):
            name = f"%a{ci}_{ai}"
            if atype.kind == "scalar":
                lines.append(f"    {name} = arith.constant "
                             f"{mlir_float(value)} : {atype.dtype}")
                operands.append(name)
                continue
            value = np.asarray(value, np.float64)
            static = _static_type(
                ArgType("", "memref", [], atype.dtype), value.shape)
            if ai in call.output_args:
                guarded = (_guarded_alloc(lines, name, static, value.shape,
                                          atype.dtype) if guard else None)
                if guarded is None:
                    lines.append(f"    {name}_m = memref.alloc() : {static}")
                else:
                    guard_checks.append(guarded)
                out_buffers.append((f"{name}_m", value.shape, atype.dtype))
            else:
                gname = f"g{ci}_{ai}"
                hexdata = reference.to_bits(value, atype.dtype).hex().upper()
                globals_.append(
                    f"  memref.global \"private\" constant @{gname} : {static} = "
                    f"dense<\"0x{hexdata}\">")
                lines.append(f"    {name}_m = memref.get_global @{gname} : {static}")
            if atype.kind == "memref":
                if static != atype.text:
                    lines.append(f"    {name} = memref.cast {name}_m : {static} "
                                 f"to {atype.text}")
                else:
                    lines.append(f"    {name} = memref.cast {name}_m : {static} "
                                 f"to {static}")
            else:
                tstatic = _static_type(atype, value.shape)
                lines.append(f"    {name}_t = bufferization.to_tensor {name}_m "
                             f"restrict : {static} to {tstatic}")
                lines.append(f"    {name} = tensor.cast {name}_t : {tstatic} to "
                             f"{atype.text}")
            operands.append(name)
        ret = ", ".join(r.text for r in result_types)
        sig = f"({', '.join(a.text for a in arg_types)}) -> ({ret})"
        results = f"%r{ci}" if result_types else ""
        call_line = f"func.call @{call.func}({', '.join(operands)}) : {sig}"
        if result_types:
            lines.append(f"    {results}:{len(result_types)} = {call_line}")
        else:
            lines.append(f"    {call_line}")
        for gi, (check, count) in enumerate(guard_checks):
            lines += check
            lines.append(f"    %gc{ci}_{gi} = arith.constant {gi} : i64")
            lines.append(f"    func.call @printGuard(%c{ci}, %gc{ci}_{gi}, "
                         f"{count}) : (i64, i64, i64) -> ()")
        # Tensor results: their shapes are those of the matching inputs, so
        # the caller says them through `result_shapes` on the call.
        outputs = list(out_buffers)
        for ri, rtype in enumerate(result_types):
            shape = call.result_shapes[ri]
            static = _static_type(ArgType("", "memref", [], rtype.dtype), shape)
            tstatic = _static_type(rtype, shape)
            name = f"%r{ci}_{ri}"
            lines.append(f"    {name}_t = tensor.cast %r{ci}#{ri} : {rtype.text} "
                         f"to {tstatic}")
            lines.append(f"    {name}_m = bufferization.to_buffer {name}_t : "
                         f"{tstatic} to {static}")
            outputs.append((f"{name}_m", shape, rtype.dtype))
        for oi, (buf, shape, dtype) in enumerate(outputs):
            lines.append(f"    func.call @printMarker(%c{ci}, %c{oi}) : "
                         "(i64, i64) -> ()")
            _print_loops(lines, buf, list(shape), dtype, f"p{ci}_{oi}_")
        out_specs.append([(shape, dtype) for _, shape, dtype in outputs])

    consts = sorted({ci for ci in range(len(calls))} |
                    {oi for spec in out_specs for oi in range(len(spec))})
    main = ["  func.func @main() {"]
    main += [f"    %c{k} = arith.constant {k} : i64" for k in consts]
    main += lines
    main += ["    return", "  }"]
    helpers = [
        "  func.func private @printI64(i64)",
        "  func.func private @printNewline()",
        # A marker line: -1 then the call and output numbers.
        "  func.func @printMarker(%c: i64, %o: i64) {",
        "    %m = arith.constant -123456789 : i64",
        "    func.call @printI64(%m) : (i64) -> ()",
        "    func.call @printNewline() : () -> ()",
        "    func.call @printI64(%c) : (i64) -> ()",
        "    func.call @printNewline() : () -> ()",
        "    func.call @printI64(%o) : (i64) -> ()",
        "    func.call @printNewline() : () -> ()",
        "    return",
        "  }",
        # A guard report: the marker, the call, the buffer, bytes changed.
        "  func.func @printGuard(%c: i64, %o: i64, %n: i64) {",
        f"    %m = arith.constant {GUARD_MARKER} : i64",
        "    func.call @printI64(%m) : (i64) -> ()",
        "    func.call @printNewline() : () -> ()",
        "    func.call @printI64(%c) : (i64) -> ()",
        "    func.call @printNewline() : () -> ()",
        "    func.call @printI64(%o) : (i64) -> ()",
        "    func.call @printNewline() : () -> ()",
        "    func.call @printI64(%n) : (i64) -> ()",
        "    func.call @printNewline() : () -> ()",
        "    return",
        "  }",
    ]
    extra = "\n".join(globals_ + helpers + main)
    # Attribute and type aliases stay at the top level, before the module.
    alias_re = re.compile(r"^[#!][\w.$-]+\s*=.*$", re.MULTILINE)
    aliases = "\n".join(alias_re.findall(kernel_ir))
    body = alias_re.sub("", kernel_ir)
    body = re.sub(r"^\s*//.*$", "", body, flags=re.MULTILINE).strip()
    if body.startswith("module"):
        # Keep the kernel's module (and its attributes); add ours inside.
        module = body[:body.rindex("}")] + "\n" + extra + "\n}\n"
    else:
        module = "module {\n" + body + "\n" + extra + "\n}\n"
    module = aliases + "\n" + module
    return module, out_specs


class HarnessError(RuntimeError):
    pass


# Seconds a tool may run: a hang (e.g. glibc blocked after detecting heap
# corruption) is an error, not a stalled test run.
TOOL_TIMEOUT = 900


def _run_tool(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"timed out after {TOOL_TIMEOUT} s: {' '.join(cmd)}")


def _clip(text, head=2500, tail=1500):
    """`text`, or its beginning (where a diagnostic, assertion or sanitizer
    report says what went wrong) and its end (the stack's bottom)."""
    if len(text) <= head + tail:
        return text
    return text[:head] + "\n    [...]\n" + text[-tail:]


def run_calls(kernel_ir, calls, pipeline="linalg", keep=None, runner_opt="-O2"):
    """Lowers `kernel_ir` plus a generated main through `pipeline`, runs it,
    and returns, per call, the list of its outputs as float64 arrays
    (memref output arguments first, then tensor results). `runner_opt` is
    mlir-runner's code generation level (-O0 JITs several times faster)."""
    module, out_specs = build_module(kernel_ir, calls, guard=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "module.mlir")
        with open(src, "w") as f:
            f.write(module)
        if keep:
            shutil.copy(src, keep)
        lowered = os.path.join(tmp, "lowered.mlir")
        cmd = [norm_opt(), src, "-o", lowered] + pipeline_args(pipeline)
        proc = _run_tool(cmd)
        if proc.returncode != 0:
            raise HarnessError("norm-opt failed:\n" + " ".join(cmd) + "\n" +
                               _clip(proc.stderr))
        libs = runner_libs()
        with open(lowered) as f:
            if "omp." in f.read():  # OpenMP code needs LLVM's runtime.
                libs.append(os.path.join(os.path.dirname(libs[0]), "libomp.so"))
        cmd = [_tool("mlir-runner"), lowered, "-e", "main",
               "-entry-point-result=void", runner_opt,
               "-shared-libs=" + ",".join(libs)]
        proc = _run_tool(cmd)
        if proc.returncode != 0:
            raise HarnessError("mlir-runner failed:\n" + _clip(proc.stderr))
    tokens = proc.stdout.split()
    values = {}
    i, current = 0, None
    while i < len(tokens):
        if tokens[i] == GUARD_MARKER:
            ci, bi, changed = (int(t) for t in tokens[i + 1:i + 4])
            if changed:
                raise HarnessError(
                    f"call {ci} (@{calls[ci].func}) wrote {changed} bytes "
                    f"outside its output buffer #{bi} (of {GUARD_BYTES} "
                    "guard bytes on each side)")
            i += 4
            continue
        if tokens[i] == "-123456789":
            current = (int(tokens[i + 1]), int(tokens[i + 2]))
            values[current] = []
            i += 3
            continue
        values[current].append(int(tokens[i]))
        i += 1
    results = []
    for ci, spec in enumerate(out_specs):
        outs = []
        for oi, (shape, dtype) in enumerate(spec):
            ints = values.get((ci, oi), [])
            expected = int(np.prod(shape)) if shape else 1
            if len(ints) != expected:
                raise HarnessError(f"call {ci} output {oi}: expected {expected} "
                                   f"values, got {len(ints)}")
            outs.append(reference.from_int_bits(ints, dtype).reshape(shape))
        results.append(outs)
    return results
