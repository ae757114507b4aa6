"""Generates the kernels and the manifest of the device harness (bench/gpu).

    python -m norm_mlir.gpu.generate --out build/bench-gpu [--quick]

The machine that runs bench/gpu/run.sh has a GPU but no LLVM/MLIR, so
everything is compiled here: each variant (op, element type, shape) is a
kernel-ABI function (memref arguments read with bufferization.to_tensor,
written with materialize_in_destination), lowered with --norm-gpu-pipeline
to PTX for sm_90 and sm_80 and, when ptxas is found, to a cubin for sm_90.
manifest.json says, per variant, which kernel to launch with which grid and
block, and how to fill each kernel parameter: a field of the memref
descriptor of a function argument (pointer, offset, size, stride), a scalar
argument, or a constant. It is read off the host code the pipeline
produces, so the device runs exactly what the pipeline launches.

Only static shapes are generated: the host code's launch geometry is then
made of constants. Buffers the host code allocates itself (the gradient
kernels' partial rows and recomputed statistics) are listed per variant as
`temporaries` (bytes), and a kernel parameter reading one says which.

Gradient variants (kinds `gradbench`, `gradcase`) are grad_cases.py specs;
their arguments are named after the case's values (x, dy, g, mean, rstd,
dr, dx, dgamma, dbeta).
"""

import argparse
import json
import os
import re
import sys

from norm_mlir.core import tools
from norm_mlir.core.types import split_top_level
from norm_mlir.gpu import binaries
from norm_mlir.testing.grad_cases import GradCase
from norm_mlir.testing.norm_cases import NormCase
from norm_mlir.testing.sweeps import GRAD_SWEEPS, SWEEPS

# The benchmark of issue #4: both ops, three element types, three shapes.
BENCH_SHAPES = ["4096x768", "32768x4096", "8192x8192"]
BENCH_DTYPES = ["f32", "f16", "bf16"]


def bench_specs(shapes=BENCH_SHAPES):
    specs = []
    for op in ("layer_norm", "rms_norm"):
        for dtype in BENCH_DTYPES:
            for shape in shapes:
                affine = "gamma beta" if op == "layer_norm" else "gamma eps=1e-6"
                specs.append(f"op={op} shape={shape} dtype={dtype} {affine} "
                             "abi=kernel")
    return specs


# The gradient benchmark of issue #16: LayerNorm (every gradient, saved
# statistics) in f32 and bf16 at 16384x4096 and 4096x768, RMSNorm (dx and
# dgamma) in bf16 at 16384x4096.
GRAD_BENCH_SPECS = [
    "op=layer_norm shape=16384x4096 dtype=f32 gamma saved dx dgamma dbeta",
    "op=layer_norm shape=16384x4096 dtype=bf16 gamma saved dx dgamma dbeta",
    "op=layer_norm shape=4096x768 dtype=f32 gamma saved dx dgamma dbeta",
    "op=layer_norm shape=4096x768 dtype=bf16 gamma saved dx dgamma dbeta",
    "op=rms_norm shape=16384x4096 dtype=bf16 gamma saved dx dgamma",
]


def grad_bench_specs(quick=False):
    specs = GRAD_BENCH_SPECS
    if quick:
        specs = [s.replace("16384x4096", "64x768").replace("4096x768", "96x256")
                 for s in specs[:1] + specs[-1:]]
    return [s + " abi=kernel" for s in specs]


def grad_correctness_specs(quick=False):
    """The GPU gradient sweep with static shapes, in the kernel ABI."""
    specs = GRAD_SWEEPS["gpu_gradients"]
    if quick:
        specs = specs[:3]
    return [_kernel_abi(spec) for spec in specs]


def is_gradient(kind):
    return kind in ("gradbench", "gradcase")


def parse_case(kind, spec):
    return GradCase.parse(spec) if is_gradient(kind) else NormCase.parse(spec)


# Quantised outputs (i8 and f8E4M3FN, saturating scales, NaN rows, a
# residual with gamma): the first two are in the --quick set.
QUANTIZED_SPECS = [
    "op=rms_norm shape=8x256 residual residual_out gamma out=i8 scale=0.02",
    "op=layer_norm shape=8x256 residual residual_out gamma beta "
    "out=f8E4M3FN scale=0.01",
] + SWEEPS["quantized"]


def _kernel_abi(spec):
    tokens = [t for t in spec.split()
              if not t.startswith("abi=") and t != "dynamic"]
    return " ".join(tokens + ["abi=kernel"])


def correctness_specs(quick=False):
    """The foundation sweep in the kernel ABI with static shapes (every
    extra destination, data distribution and element type), plus a few
    launch-geometry corners, and the quantised outputs; with `quick`, the
    first eight of those and two quantised ones."""
    specs = SWEEPS["foundation"] + [
        "op=layer_norm shape=5x65536 gamma beta data=large_mean",
        "op=rms_norm shape=3x8192 dtype=bf16 residual residual_out rstd gamma",
        "op=layer_norm shape=7x4096 dtype=f16 mean rstd gamma beta",
        "op=layer_norm shape=37x64 gamma beta",
        "op=layer_norm shape=6x768 dtype=bf16 data=constant gamma beta"]
    quantized = QUANTIZED_SPECS
    if quick:
        specs, quantized = specs[:8], quantized[:2]
    return [_kernel_abi(spec) for spec in specs + quantized]


def _func_name(kind, index, case):
    shape = "x".join(str(d) for d in case.shape)
    return f"{kind}{index}_{case.op}_{case.dtype}_{shape}"


# -- Reading the host code --------------------------------------------------

_LLVM_FUNC_RE = re.compile(r"llvm\.func @([\w$.]+)\((.*?)\)\s*(?:attributes\s*\{[^}]*\}\s*)?\{",
                           re.S)
_LAUNCH_RE = re.compile(
    r"gpu\.launch_func\s+(?:<[^>]*>\s*)?@([\w$.]+)::@([\w$.]+)\s+blocks in \(([^)]*)\)\s+"
    r"threads in \(([^)]*)\)\s*(?::\s*\w+\s*)?(?:dynamic_shared_memory_size\s+(%\w+)\s*)?"
    r"args\((.*?)\)\s*$", re.M)
_CONST_RE = re.compile(r"(%\w+) = llvm\.mlir\.constant\(([-\w.+]+)\s*:\s*\w+\)")
_ZERO_RE = re.compile(r"(%\w+) = llvm\.mlir\.zero : !llvm\.ptr")
_MUL_RE = re.compile(r"(%\w+) = llvm\.mul (%\w+), (%\w+)")
_GEP_RE = re.compile(r"(%\w+) = llvm\.getelementptr (%\w+)\[(%\w+|\d+)\] : "
                     r"\(!llvm\.ptr(?:, i64)?\) -> !llvm\.ptr, (\w+)")
_PTRTOINT_RE = re.compile(r"(%\w+) = llvm\.ptrtoint (%\w+) : !llvm\.ptr to i64")
_ALLOC_RE = re.compile(r"(%\w+) = llvm\.call @mgpuMemAlloc\((%\w+),")
_LLVM_SIZES = {"i8": 1, "i16": 2, "f16": 2, "bf16": 2, "i32": 4, "f32": 4,
               "i64": 8, "f64": 8}


def _allocation_sizes(body, constants):
    """{value: bytes} of the host code's mgpuMemAlloc calls, their sizes
    evaluated from the constant expression the lowering builds (a product
    of constants, times an element size through a getelementptr from null)."""
    value = {k: int(v) for k, v in constants.items()
             if re.fullmatch(r"-?\d+", v)}
    for m in _MUL_RE.finditer(body):
        if m.group(2) in value and m.group(3) in value:
            value[m.group(1)] = value[m.group(2)] * value[m.group(3)]
    zeros = {m.group(1) for m in _ZERO_RE.finditer(body)}
    for m in _GEP_RE.finditer(body):
        count = (int(m.group(3)) if m.group(3).isdigit()
                 else value.get(m.group(3)))
        if m.group(2) in zeros and count is not None and m.group(4) in _LLVM_SIZES:
            value[m.group(1)] = count * _LLVM_SIZES[m.group(4)]
    for m in _PTRTOINT_RE.finditer(body):
        if m.group(2) in value:
            value[m.group(1)] = value[m.group(2)]
    sizes = {}
    for m in _ALLOC_RE.finditer(body):
        if m.group(2) not in value:
            raise ValueError(f"allocation {m.group(1)}: size is not a constant")
        sizes[m.group(1)] = value[m.group(2)]
    return sizes
_CAST_RE = re.compile(r"(%\w+) = llvm\.(fpext|fptrunc) (%\w+) : \w+ to (\w+)")


def _function_bodies(ir):
    """(name, params text, body text) of every llvm.func with a body."""
    found = []
    for m in _LLVM_FUNC_RE.finditer(ir):
        i, depth = m.end(), 1
        while depth:
            depth += {"{": 1, "}": -1}.get(ir[i], 0)
            i += 1
        found.append((m.group(1), m.group(2), ir[m.end():i - 1]))
    return found


def _descriptor_fields(args):
    """What each parameter of the lowered host function holds: per argument
    of the kernel function (memref or scalar), its descriptor fields."""
    fields = []
    for index, arg in enumerate(args):
        if arg["role"] == "scalar":
            fields.append({"arg": index, "field": "value"})
            continue
        rank = len(arg["shape"])
        fields += [{"arg": index, "field": "allocated"},
                   {"arg": index, "field": "aligned"},
                   {"arg": index, "field": "offset"}]
        fields += [{"arg": index, "field": "size", "dim": d} for d in range(rank)]
        fields += [{"arg": index, "field": "stride", "dim": d} for d in range(rank)]
    return fields


def _grad_host_args(case):
    """A gradient case's kernel function arguments, in order, named by the
    case's values."""
    args = [{"name": name, "role": "in", "dtype": dtype, "shape": list(shape)}
            for name, shape, dtype in case.operands()]
    args += [{"name": name, "role": "out", "dtype": dtype,
              "shape": list(shape)}
             for name, shape, dtype in case.destinations()]
    return args


def _host_args(case):
    """The kernel function's arguments, in order (core.kernels.NormKernel,
    named by the op keyword they feed, or grad_cases.GradCase)."""
    if isinstance(case, GradCase):
        return _grad_host_args(case)
    names = {"ins": "input", "outs": "out"}
    values = {"eps": case.eps, "out_scale": case.scale}
    args = []
    for arg in case.kernel().arguments():
        entry = {"name": names.get(arg.keyword, arg.keyword), "role": arg.kind,
                 "dtype": arg.dtype, "shape": list(arg.shape)}
        if arg.kind == "scalar":
            entry["value"] = values[arg.keyword]
        args.append(entry)
    return args


def read_launches(ir, case, func):
    """The launches of `func` in the lowered host code, with the source of
    every kernel parameter, and the sizes in bytes of the buffers it
    allocates (temporaries)."""
    for name, params_text, body in _function_bodies(ir):
        if name != func:
            continue
        params = [p.split(":")[0].strip()
                  for p in split_top_level(params_text)]
        fields = _descriptor_fields(_host_args(case))
        if len(fields) != len(params):
            raise ValueError(f"@{func}: {len(params)} host parameters, expected "
                             f"{len(fields)}")
        by_name = dict(zip(params, fields))
        constants = {m.group(1): m.group(2) for m in _CONST_RE.finditer(body)}
        casts = {m.group(1): (m.group(2), m.group(3), m.group(4))
                 for m in _CAST_RE.finditer(body)}
        allocations = _allocation_sizes(body, constants)
        temporaries = list(allocations)

        def constant(value):
            if value not in constants:
                raise ValueError(f"@{func}: launch size {value} is not a constant")
            return int(constants[value])

        launches = []
        for m in _LAUNCH_RE.finditer(body):
            grid = [constant(v.strip()) for v in m.group(3).split(",")]
            block = [constant(v.strip()) for v in m.group(4).split(",")]
            kernel_params = []
            for arg in split_top_level(m.group(6)):
                value, type_ = [t.strip() for t in arg.split(":", 1)]
                if value in by_name:
                    kernel_params.append(dict(by_name[value], type=type_))
                elif value in allocations:
                    kernel_params.append({"temp": temporaries.index(value),
                                          "type": type_})
                elif value in constants:
                    kernel_params.append({"const": float(constants[value])
                                          if type_.startswith("f") else
                                          int(constants[value]), "type": type_})
                elif value in casts and casts[value][1] in by_name:
                    kernel_params.append(dict(by_name[casts[value][1]],
                                              type=casts[value][2]))
                else:
                    raise ValueError(f"@{func}: kernel parameter {value} is "
                                     "computed on the host")
            launches.append({"module": m.group(1), "kernel": m.group(2),
                             "grid": grid, "block": block,
                             "params": kernel_params})
        if not launches:
            raise ValueError(f"@{func}: no gpu.launch_func")
        return launches, [allocations[t] for t in temporaries]
    raise ValueError(f"no host function @{func}")


def launched_kernels(ir, func):
    """(module, kernel) of every gpu.launch_func of `func` in the lowered
    host code, in the order they appear, whatever their sizes."""
    for name, _, body in _function_bodies(ir):
        if name == func:
            return [(m.group(1), m.group(2)) for m in _LAUNCH_RE.finditer(body)]
    raise ValueError(f"no host function @{func}")


# -- Driving the pipeline ----------------------------------------------------

def run_pipeline(module_path, options, out_path):
    cmd = [tools.norm_opt(), module_path, "-o", out_path,
           f"--norm-gpu-pipeline={options}"]
    proc = tools.run(cmd)
    if proc.returncode:
        raise RuntimeError("norm-opt failed:\n" + " ".join(cmd) + "\n" +
                           proc.stderr[-4000:])
    with open(out_path) as f:
        return f.read()


find_ptxas = tools.ptxas  # The name this module used to define.


def _ptxas_stats(ptxas, ptx_path, chip):
    """Registers, spill bytes and local memory of each kernel, from ptxas -v."""
    proc = tools.run([ptxas, f"-arch={chip}", "-v", ptx_path, "-o", os.devnull])
    if proc.returncode:
        raise RuntimeError(f"ptxas failed on {ptx_path}:\n{proc.stderr}")
    text = proc.stderr
    regs = re.search(r"Used (\d+) registers", text)
    spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", text)
    stack = re.search(r"(\d+) bytes stack frame", text)
    lmem = re.search(r"(\d+) bytes lmem", text)
    return {"registers": int(regs.group(1)) if regs else None,
            "spill_stores": int(spills.group(1)) if spills else None,
            "spill_loads": int(spills.group(2)) if spills else None,
            "stack_frame": int(stack.group(1)) if stack else None,
            "lmem": int(lmem.group(1)) if lmem else 0}


def generate(out_dir, specs, chips=("sm_90", "sm_80"), cubin_chip="sm_90",
             pipeline_options="", emulator=False, log=print):
    os.makedirs(out_dir, exist_ok=True)
    kernels_dir = os.path.join(out_dir, "kernels")
    os.makedirs(kernels_dir, exist_ok=True)
    entries = []
    for i, (kind, spec) in enumerate(specs):
        case = parse_case(kind, spec)
        entries.append({"name": _func_name(kind, i, case), "kind": kind,
                        "spec": spec, "op": case.op, "dtype": case.dtype,
                        "out_dtype": getattr(case, "out", case.dtype),
                        "shape": list(case.shape),
                        "axis": case.axis, "n": case.n, "eps": case.eps,
                        "args": _host_args(case), "case": case})
    module = "\n".join(e["case"].kernel_ir(e["name"]) for e in entries)
    src = os.path.join(out_dir, "kernels.mlir")
    with open(src, "w") as f:
        f.write(module + "\n")

    ptxas = find_ptxas()
    binaries_by_chip = {}
    host_ir = None
    for chip in chips:
        options = f"chip={chip} format=isa {pipeline_options}".strip()
        lowered = run_pipeline(src, options, os.path.join(out_dir, f"lowered.{chip}.mlir"))
        if host_ir is None:
            host_ir = lowered
        binaries_by_chip[(chip, "ptx")] = {o.module: o.data
                                           for o in binaries.objects(lowered)}
        os.remove(os.path.join(out_dir, f"lowered.{chip}.mlir"))
    if ptxas:
        options = f"chip={cubin_chip} format=bin {pipeline_options}".strip()
        lowered = run_pipeline(src, options, os.path.join(out_dir, "lowered.bin.mlir"))
        binaries_by_chip[(cubin_chip, "cubin")] = {
            o.module: o.data for o in binaries.objects(lowered)}
        os.remove(os.path.join(out_dir, "lowered.bin.mlir"))
    else:
        log("ptxas not found: no cubins, the device will JIT the PTX")
    if emulator:
        # The same kernels as LLVM IR, built for the CPU emulator, so that
        # `python -m norm_mlir.gpu.device --emulate` can check the manifest.
        from norm_mlir.gpu import emulator as emu
        options = f"format=llvm {pipeline_options}".strip()
        path = os.path.join(out_dir, "lowered.llvm.mlir")
        lowered = run_pipeline(src, options, path)
        emu_dir = os.path.join(out_dir, "emulator")
        os.makedirs(emu_dir, exist_ok=True)
        library = emu.build_library(lowered, emu_dir)
        for name in os.listdir(emu_dir):
            if os.path.join(emu_dir, name) != library:
                os.remove(os.path.join(emu_dir, name))
        os.remove(path)

    manifest = {"chips": list(chips), "cubin_chip": cubin_chip if ptxas else None,
                "pipeline_options": pipeline_options, "variants": []}
    for entry in entries:
        case = entry.pop("case")
        entry["launches"], entry["temporaries"] = read_launches(
            host_ir, case, entry["name"])
        for launch in entry["launches"]:
            files = {}
            for (chip, fmt), objects in binaries_by_chip.items():
                data = objects[launch["module"]]
                path = os.path.join("kernels", f"{launch['module']}.{chip}.{fmt}")
                with open(os.path.join(out_dir, path), "wb") as f:
                    f.write(data)
                files[f"{chip}.{fmt}"] = path
            launch["binaries"] = files
            if ptxas:
                launch["ptxas"] = {
                    chip: _ptxas_stats(ptxas, os.path.join(out_dir, files[f"{chip}.ptx"]), chip)
                    for chip in chips}
        manifest["variants"].append(entry)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true",
                        help="small shapes only (for tests)")
    parser.add_argument("--no-cases", action="store_true",
                        help="benchmark variants only")
    parser.add_argument("--options", default="",
                        help="extra --norm-gpu-pipeline options")
    parser.add_argument("--emulator", action="store_true",
                        help="also build the kernels for the CPU emulator "
                        "(emulator/libnorm_gpu_emulator.so)")
    args = parser.parse_args(argv)
    shapes = ["64x768"] if args.quick else BENCH_SHAPES
    specs = [("bench", s) for s in bench_specs(shapes)]
    specs += [("gradbench", s) for s in grad_bench_specs(quick=args.quick)]
    if not args.no_cases:
        cases = correctness_specs(quick=args.quick)
        specs += [("case", s) for s in cases]
        specs += [("gradcase", s)
                  for s in grad_correctness_specs(quick=args.quick)]
    manifest = generate(args.out, specs, pipeline_options=args.options,
                        emulator=args.emulator)
    size = 0
    for root, _, files in os.walk(args.out):
        size += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"{len(manifest['variants'])} variants, "
          f"{size / 2**20:.1f} MiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
