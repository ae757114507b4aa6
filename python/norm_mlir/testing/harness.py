"""Runs MLIR kernels on concrete inputs and returns their outputs exactly.

A kernel is a `func.func` taking tensors or memrefs (and float scalars). The
harness appends a `main` that materialises the inputs as hex-encoded
`memref.global`s (bit-exact), calls each kernel, and prints every output
element as its integer bit pattern, then lowers the module through a
norm-opt pipeline and runs it with mlir-runner (`run_calls`), or through
--norm-gpu-pipeline and the CPU emulator of its GPU kernels
(`run_calls_emulated`). Several kernels run in one module, so a sweep pays
the JIT start-up once.
"""

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field

import numpy as np

from norm_mlir.core import tools, types
# Tool discovery, the pipeline table and the signature parser live in
# norm_mlir.core; these names stay here for the scripts that use them.
from norm_mlir.core.pipelines import (  # noqa: F401
    PIPELINES, TOSA_TO_LINALG, pipeline_args, textual_pipeline)
from norm_mlir.core.tools import norm_opt, runner_libs  # noqa: F401
from norm_mlir.core.types import (  # noqa: F401
    ArgType, mlir_float, parse_signature)
from norm_mlir.gpu import emulator


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
    mtype = types.shaped_type("memref", shape, dtype)
    lines.append(f"    %{prefix}v = memref.load {memref}[{', '.join(ivs)}] : {mtype}")
    itype = types.bit_type(dtype)
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
        size = types.byte_size(dtype)
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
            static = types.shaped_type("memref", value.shape, atype.dtype)
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
                hexdata = types.to_bits(value, atype.dtype).hex().upper()
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
                tstatic = types.shaped_type(atype.kind, value.shape, atype.dtype)
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
            static = types.shaped_type("memref", shape, rtype.dtype)
            tstatic = types.shaped_type(rtype.kind, shape, rtype.dtype)
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


class HarnessError(tools.ToolError):
    pass


# Seconds a tool may run: a hang (e.g. glibc blocked after detecting heap
# corruption) is an error, not a stalled test run.
TOOL_TIMEOUT = 900


def _run_tool(cmd):
    try:
        return tools.run(cmd, timeout=TOOL_TIMEOUT)
    except tools.ToolError as err:
        raise HarnessError(str(err)) from None


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
        cmd = [tools.norm_opt(), src, "-o", lowered] + pipeline_args(pipeline)
        proc = _run_tool(cmd)
        if proc.returncode != 0:
            raise HarnessError("norm-opt failed:\n" + " ".join(cmd) + "\n" +
                               _clip(proc.stderr))
        libs = tools.runner_libs()
        with open(lowered) as f:
            if "omp." in f.read():  # OpenMP code needs LLVM's runtime.
                libs.append(tools.openmp_lib())
        cmd = [tools.mlir_runner(), lowered, "-e", "main",
               "-entry-point-result=void", runner_opt,
               "-shared-libs=" + ",".join(libs)]
        proc = _run_tool(cmd)
        if proc.returncode != 0:
            raise HarnessError("mlir-runner failed:\n" + _clip(proc.stderr))
    return _parse_outputs(proc.stdout, calls, out_specs)


def run_calls_emulated(kernel_ir, calls, pipeline_options="", keep=None,
                       timeout=600):
    """As run_calls, through --norm-gpu-pipeline (with `pipeline_options`)
    and the CPU emulator of its GPU kernels (norm_mlir.gpu.emulator)."""
    module, out_specs = build_module(kernel_ir, calls)
    try:
        stdout = emulator.run_module(module, pipeline_options, keep=keep,
                                     timeout=timeout)
    except tools.ToolError as err:
        raise HarnessError(str(err)) from None
    return _parse_outputs(stdout, calls, out_specs)


def _parse_outputs(stdout, calls, out_specs):
    """Decodes what `main` printed (see build_module): per call, its outputs
    as float64 arrays. Raises HarnessError when a call wrote outside an
    output buffer or an output is short."""
    tokens = stdout.split()
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
            outs.append(types.from_int_bits(ints, dtype).reshape(shape))
        results.append(outs)
    return results
