"""Runs the output of --norm-gpu-pipeline on the CPU.

There is no GPU where the tests run, so the kernels the GPU pipeline
produces are executed by emulation: the pipeline is run with `format=llvm`
(each `gpu.binary` then holds the kernel's optimised LLVM IR, the input of
the NVPTX back end), the IR is retargeted to the host (NVVM intrinsics
become calls into emulator_runtime.c, shared memory becomes an ordinary
global) and compiled with clang into a shared library together with that
runtime, which also stands in for the CUDA wrappers (mgpu*) the host code
calls. mlir-runner then runs the host code: launches, grid computation,
views and all. Each GPU thread is a POSIX thread; warps exchange shuffled
values through barriers, so a shuffle or barrier that not all threads reach
hangs here as it would misbehave on a GPU.

What this checks is everything above the NVPTX back end: the lowering, the
pipeline, the kernel ABI, and the numbers (IEEE f32 arithmetic on both).
The PTX itself is checked by ptxas (see test/Integration/GPU).

`run_module` runs a module with a `main` (the test harness writes one:
norm_mlir.testing.harness.run_calls_emulated) and returns what it printed.
"""

import os
import re
import shutil
import tempfile

from norm_mlir.core import tools, types
from norm_mlir.gpu import binaries

_RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "emulator_runtime.c")

# NVVM intrinsics and the runtime functions standing in for them.
_INTRINSICS = {
    "llvm.nvvm.read.ptx.sreg.tid.x": "emu_tid_x",
    "llvm.nvvm.read.ptx.sreg.ctaid.x": "emu_ctaid_x",
    "llvm.nvvm.read.ptx.sreg.ntid.x": "emu_ntid_x",
    "llvm.nvvm.read.ptx.sreg.nctaid.x": "emu_nctaid_x",
    "llvm.nvvm.read.ptx.sreg.tid.y": "emu_zero",
    "llvm.nvvm.read.ptx.sreg.tid.z": "emu_zero",
    "llvm.nvvm.read.ptx.sreg.ctaid.y": "emu_zero",
    "llvm.nvvm.read.ptx.sreg.ctaid.z": "emu_zero",
    "llvm.nvvm.read.ptx.sreg.ntid.y": "emu_one",
    "llvm.nvvm.read.ptx.sreg.ntid.z": "emu_one",
    "llvm.nvvm.shfl.sync.bfly.f32": "emu_shfl_bfly_f32",
    "llvm.nvvm.shfl.sync.bfly.i32": "emu_shfl_bfly_i32",
    "llvm.nvvm.shfl.sync.idx.f32": "emu_shfl_idx_f32",
    "llvm.nvvm.shfl.sync.idx.i32": "emu_shfl_idx_i32",
    "llvm.nvvm.barrier.cta.sync.aligned.all": "emu_barrier",
    "llvm.nvvm.barrier0": "emu_barrier0",
    "llvm.nvvm.rsqrt.approx.f": "emu_rsqrt_approx_f32",
}

_C_TYPES = {"ptr": "void *", "i64": "int64_t", "i32": "int32_t",
            "float": "float", "double": "double", "i16": "int16_t",
            "i8": "int8_t", "i1": "_Bool"}


class EmulatorError(RuntimeError):
    pass


def retarget(ll_text, prefix=""):
    """The kernel module's LLVM IR, rewritten to compile for the host, its
    kernels' symbols prefixed with `prefix` (modules may share kernel
    names). Returns (ir, [(kernel name, symbol, [param types])])."""
    lines = []
    for line in ll_text.splitlines():
        if line.startswith(("target datalayout", "target triple")):
            continue
        lines.append(line)
    text = "\n".join(lines) + "\n"
    text = text.replace("define ptx_kernel ", "define ")
    text = re.sub(r"\s*addrspace\(\d+\)", "", text)
    # Target attributes name the GPU (target-cpu="sm_90" ...).
    text = re.sub(r'\s*"target-(cpu|features)"="[^"]*"', "", text)
    for intrinsic, replacement in _INTRINSICS.items():
        text = text.replace("@" + intrinsic + "(", "@" + replacement + "(")
    leftover = sorted(set(re.findall(r"@(llvm\.nvvm\.[\w.]+)", text)))
    if leftover:
        raise EmulatorError("no emulation for " + ", ".join(leftover))
    kernels = []
    for m in re.finditer(r"^define\s+(?:[\w]+\s+)*void\s+@([\w.$]+)\((.*)\)",
                         text, re.M):
        params = []
        for param in types.split_top_level(m.group(2)):
            params.append(param.split()[0])
        kernels.append((m.group(1), prefix + m.group(1), params))
    for name, symbol, _ in kernels:
        text = text.replace("@" + name + "(", "@" + symbol + "(")
    return text, kernels


def _fnv1a(data):
    """The runtime's hash of a kernel module's bytes (emulator_runtime.c)."""
    value = 14695981039346656037
    for byte in data:
        value = ((value ^ byte) * 1099511628211) % (1 << 64)
    return value


def _trampolines(modules):
    """C source of the `emu_kernels` and `emu_modules` tables for `modules`,
    a list of (module name, module bytes, [(kernel name, symbol,
    [param types])])."""
    out = ["#include <stdint.h>",
           "typedef void (*EmuTrampoline)(void **params);",
           "struct EmuKernel { int module; const char *name; "
           "EmuTrampoline call; };",
           "struct EmuModule { const char *name; uint64_t size; "
           "uint64_t hash; };"]
    entries = []
    for index, (_, _, kernels) in enumerate(modules):
        for name, symbol, params in kernels:
            out += _trampoline(symbol, params)
            entries.append(f'{{{index}, "{name}", call_{symbol}}}')
    out.append(f"const struct EmuKernel emu_kernels[] = {{{', '.join(entries)}}};")
    out.append(f"const int emu_num_kernels = {len(entries)};")
    sizes = ", ".join(f'{{"{name}", {len(data)}ull, {_fnv1a(data)}ull}}'
                      for name, data, _ in modules)
    out.append(f"const struct EmuModule emu_modules[] = {{{sizes}}};")
    out.append(f"const int emu_num_modules = {len(modules)};")
    return "\n".join(out) + "\n"


def _trampoline(name, params):
    """The declaration of kernel `name` and its trampoline."""
    ctypes = []
    for p in params:
        if p not in _C_TYPES:
            raise EmulatorError(f"kernel {name}: unsupported parameter {p}")
        ctypes.append(_C_TYPES[p])
    args = ", ".join(f"*({t} *)params[{i}]" for i, t in enumerate(ctypes))
    out = [f"extern void {name}({', '.join(ctypes) or 'void'});",
           f"static void call_{name}(void **params) {{ "
           f"(void)params; {name}({args}); }}"]
    return out


def build_library(lowered_ir, workdir):
    """Compiles the kernels of `lowered_ir` (pipeline output with
    format=llvm) and the runtime into a shared library; returns its path."""
    objs = [o for o in binaries.objects(lowered_ir) if o.kind == "offload"]
    if not objs:
        raise EmulatorError("no LLVM IR kernels (run the pipeline with "
                            "format=llvm)")
    modules = []
    sources = []
    for i, obj in enumerate(objs):
        bc = os.path.join(workdir, f"kernel{i}.bc")
        with open(bc, "wb") as f:
            f.write(obj.data)
        proc = tools.run([tools.llvm_dis(), bc, "-o", "-"])
        if proc.returncode:
            raise EmulatorError("llvm-dis failed:\n" + proc.stderr)
        ir, kernels = retarget(proc.stdout, prefix=f"emu_m{i}_")
        ll = os.path.join(workdir, f"kernel{i}.ll")
        with open(ll, "w") as f:
            f.write(ir)
        sources.append(ll)
        modules.append((obj.module, obj.data, kernels))
    table = os.path.join(workdir, "kernels.c")
    with open(table, "w") as f:
        f.write(_trampolines(modules))
    library = os.path.join(workdir, "libnorm_gpu_emulator.so")
    cmd = [tools.clang(), "-shared", "-fPIC", "-O1", "-pthread",
           "-Wno-override-module", "-o", library, _RUNTIME, table] + sources
    proc = tools.run(cmd)
    if proc.returncode:
        raise EmulatorError("compiling the kernels for the host failed:\n" +
                            " ".join(cmd) + "\n" + proc.stderr[-4000:])
    return library


def run_module(module, pipeline_options="", keep=None, timeout=600):
    """Lowers `module` (which has a `main`) through --norm-gpu-pipeline (with
    `pipeline_options`), builds its kernels for the host and runs `main`
    with mlir-runner; returns what it printed. Raises tools.ToolError when
    norm-opt or mlir-runner fails or the run takes longer than `timeout`
    seconds, EmulatorError when the kernels cannot be emulated."""
    options = ("format=llvm " + pipeline_options).strip()
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "module.mlir")
        with open(src, "w") as f:
            f.write(module)
        if keep:
            shutil.copy(src, keep)
        lowered = os.path.join(tmp, "lowered.mlir")
        cmd = [tools.norm_opt(), src, "-o", lowered,
               f"--norm-gpu-pipeline={options}"]
        proc = tools.run(cmd)
        if proc.returncode != 0:
            raise tools.ToolError("norm-opt failed:\n" + " ".join(cmd) + "\n" +
                                  proc.stderr[-4000:])
        with open(lowered) as f:
            library = build_library(f.read(), tmp)
        cmd = [tools.mlir_runner(), lowered, "-e", "main",
               "-entry-point-result=void", "-O2",
               "-shared-libs=" + ",".join(tools.runner_libs() + [library])]
        try:
            proc = tools.run(cmd, timeout=timeout)
        except tools.ToolError:
            raise tools.ToolError("emulated run timed out (a shuffle or "
                                  "barrier not reached by every thread?)") from None
        if proc.returncode != 0:
            raise tools.ToolError("mlir-runner failed:\n" + proc.stderr[-4000:])
    return proc.stdout
