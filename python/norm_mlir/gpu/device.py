"""Runs the kernels of a generated manifest (see generate.py) on a device.

Two devices share one interface (allocate, copy, load a binary, launch):
`CudaDevice`, the CUDA driver API through ctypes (libcuda.so.1; nothing
else needed), and `EmulatedDevice`, the CPU emulator of emulator.py, so
that the packing of kernel parameters from the manifest and the checks
are exercised where there is no GPU.

    python -m norm_mlir.gpu.device --artefacts build/bench-gpu            # GPU
    python -m norm_mlir.gpu.device --artefacts DIR --emulate libemu.so    # CPU

runs every correctness case of the manifest and compares each output with
the float64 reference (norm_cases.NormCase.check, docs/Tolerances.md).
"""

import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np

from norm_mlir.core import types
from norm_mlir.testing.grad_cases import GradCase
from norm_mlir.testing.norm_cases import NormCase


class DeviceError(RuntimeError):
    pass



def param_values(launch, args, pointers, temporaries=()):
    """The kernel parameters of `launch` as ctypes values. `args` are the
    manifest's function arguments; `pointers[i]` is the device address of
    argument i (memrefs), and a scalar argument's value is in the manifest;
    `temporaries[k]` is the device address of the variant's k-th
    temporary buffer."""
    values = []
    for param in launch["params"]:
        ptype = param["type"]
        if "const" in param:
            value = param["const"]
        elif "temp" in param:
            value = temporaries[param["temp"]]
        else:
            arg = args[param["arg"]]
            field = param["field"]
            shape = arg["shape"]
            if field in ("allocated", "aligned"):
                value = pointers[param["arg"]]
            elif field == "offset":
                value = 0
            elif field == "size":
                value = shape[param["dim"]]
            elif field == "stride":
                value = int(np.prod(shape[param["dim"] + 1:])) if shape else 1
            elif field == "value":
                value = arg["value"]
            else:
                raise DeviceError(f"unknown parameter field {field}")
        if ptype == "!llvm.ptr":
            values.append(ctypes.c_void_p(value))
        elif ptype == "i64":
            values.append(ctypes.c_int64(value))
        elif ptype == "i32":
            values.append(ctypes.c_int32(value))
        elif ptype == "f32":
            values.append(ctypes.c_float(value))
        elif ptype == "f64":
            values.append(ctypes.c_double(value))
        else:
            raise DeviceError(f"unsupported kernel parameter type {ptype}")
    return values


def _param_array(values):
    array = (ctypes.c_void_p * max(1, len(values)))()
    for i, value in enumerate(values):
        array[i] = ctypes.cast(ctypes.pointer(value), ctypes.c_void_p)
    return array


class CudaDevice:
    """The CUDA driver API through ctypes, on the current (or primary)
    context of device 0."""

    def __init__(self):
        try:
            self.cuda = ctypes.CDLL("libcuda.so.1")
        except OSError as err:
            raise DeviceError(f"cannot load the CUDA driver (libcuda.so.1): {err}")
        self._check(self.cuda.cuInit(0), "cuInit")
        count = ctypes.c_int()
        self._check(self.cuda.cuDeviceGetCount(ctypes.byref(count)),
                    "cuDeviceGetCount")
        if count.value < 1:
            raise DeviceError("the CUDA driver sees no device")
        self.device = ctypes.c_int()
        self._check(self.cuda.cuDeviceGet(ctypes.byref(self.device), 0),
                    "cuDeviceGet")
        context = ctypes.c_void_p()
        self._check(self.cuda.cuCtxGetCurrent(ctypes.byref(context)),
                    "cuCtxGetCurrent")
        if not context.value:
            self._check(self.cuda.cuDevicePrimaryCtxRetain(
                ctypes.byref(context), self.device), "cuDevicePrimaryCtxRetain")
            self._check(self.cuda.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        self.cuda.cuModuleGetFunction.argtypes = [
            ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_char_p]
        self.cuda.cuMemAlloc_v2.argtypes = [ctypes.POINTER(ctypes.c_uint64),
                                            ctypes.c_size_t]
        self.cuda.cuMemFree_v2.argtypes = [ctypes.c_uint64]
        self.cuda.cuMemcpyHtoD_v2.argtypes = [ctypes.c_uint64, ctypes.c_void_p,
                                              ctypes.c_size_t]
        self.cuda.cuMemcpyDtoH_v2.argtypes = [ctypes.c_void_p, ctypes.c_uint64,
                                              ctypes.c_size_t]
        self.cuda.cuLaunchKernel.argtypes = [
            ctypes.c_void_p] + [ctypes.c_uint] * 6 + [
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]

    def _check(self, status, what):
        if status != 0:
            name = ctypes.c_char_p()
            self.cuda.cuGetErrorName(status, ctypes.byref(name))
            raise DeviceError(f"{what} failed: {name.value.decode() if name.value else status}")

    def capability(self):
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._check(self.cuda.cuDeviceGetAttribute(ctypes.byref(major), 75,
                                                   self.device), "attribute")
        self._check(self.cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76,
                                                   self.device), "attribute")
        return major.value, minor.value

    def name(self):
        buf = ctypes.create_string_buffer(256)
        self.cuda.cuDeviceGetName(buf, 256, self.device)
        return buf.value.decode()

    def load(self, binary, kernel, module_name=None):
        module = ctypes.c_void_p()
        data = ctypes.create_string_buffer(binary + b"\0")
        self._check(self.cuda.cuModuleLoadData(ctypes.byref(module), data),
                    f"cuModuleLoadData ({kernel})")
        function = ctypes.c_void_p()
        self._check(self.cuda.cuModuleGetFunction(ctypes.byref(function), module,
                                                  kernel.encode()),
                    f"cuModuleGetFunction ({kernel})")
        return function

    def alloc(self, nbytes):
        ptr = ctypes.c_uint64()
        self._check(self.cuda.cuMemAlloc_v2(ctypes.byref(ptr), max(nbytes, 1)),
                    "cuMemAlloc")
        return ptr.value

    def free(self, ptr):
        self.cuda.cuMemFree_v2(ptr)

    def upload(self, ptr, data):
        self._check(self.cuda.cuMemcpyHtoD_v2(ptr, data, len(data)), "cuMemcpyHtoD")

    def download(self, ptr, nbytes):
        buf = ctypes.create_string_buffer(max(nbytes, 1))
        self._check(self.cuda.cuMemcpyDtoH_v2(buf, ptr, nbytes), "cuMemcpyDtoH")
        return buf.raw[:nbytes]

    def launch(self, function, grid, block, values, stream=None):
        params = _param_array(values)
        self._check(self.cuda.cuLaunchKernel(function, *grid, *block, 0, stream,
                                             params, None), "cuLaunchKernel")

    def synchronize(self):
        self._check(self.cuda.cuCtxSynchronize(), "cuCtxSynchronize")


class EmulatedDevice:
    """The CPU emulator (a library built by emulator.build_library)."""

    def __init__(self, library):
        self.lib = ctypes.CDLL(library)
        self.lib.mgpuModuleGetFunction.restype = ctypes.c_void_p
        self.lib.mgpuModuleGetFunction.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib.emuModuleGetFunction.restype = ctypes.c_void_p
        self.lib.emuModuleGetFunction.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        self.lib.mgpuMemAlloc.restype = ctypes.c_void_p
        self.lib.mgpuMemAlloc.argtypes = [ctypes.c_uint64, ctypes.c_void_p,
                                          ctypes.c_bool]
        self.lib.mgpuMemFree.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.lib.mgpuMemcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                        ctypes.c_size_t, ctypes.c_void_p]
        self.lib.mgpuLaunchKernel.argtypes = (
            [ctypes.c_void_p] + [ctypes.c_ssize_t] * 6 +
            [ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
             ctypes.c_size_t])

    def capability(self):
        # Pretends to be the chip the cubins are for (it runs the LLVM IR of
        # the same kernels; the binary chosen is read but not used).
        return (9, 0)

    def name(self):
        return "CPU emulator"

    def load(self, binary, kernel, module_name=None):
        # Kernels of different modules may share a name: the emulator knows
        # its modules by name (the gpu.binary symbols).
        if module_name is not None:
            return self.lib.emuModuleGetFunction(module_name.encode(),
                                                 kernel.encode())
        return self.lib.mgpuModuleGetFunction(None, kernel.encode())

    def alloc(self, nbytes):
        return self.lib.mgpuMemAlloc(max(nbytes, 1), None, False)

    def free(self, ptr):
        self.lib.mgpuMemFree(ptr, None)

    def upload(self, ptr, data):
        self.lib.mgpuMemcpy(ptr, data, len(data), None)

    def download(self, ptr, nbytes):
        buf = ctypes.create_string_buffer(max(nbytes, 1))
        self.lib.mgpuMemcpy(buf, ptr, nbytes, None)
        return buf.raw[:nbytes]

    def launch(self, function, grid, block, values, stream=None):
        params = _param_array(values)
        self.lib.mgpuLaunchKernel(function, *grid, *block, 0, None, params,
                                  None, len(values))

    def synchronize(self):
        pass


def choose_binary(manifest, launch, capability):
    """The binary to load on a device of compute `capability`: the cubin
    when it was built for exactly that chip, else the PTX of the newest chip
    not above it (the driver JIT-compiles PTX for newer chips)."""
    chip = f"sm_{capability[0]}{capability[1]}"
    files = launch["binaries"]
    if manifest.get("cubin_chip") == chip and f"{chip}.cubin" in files:
        return files[f"{chip}.cubin"]
    usable = sorted((int(c[3:]), c) for c in manifest["chips"]
                    if int(c[3:]) <= capability[0] * 10 + capability[1])
    if not usable:
        raise DeviceError(f"no binary for {chip} (have {manifest['chips']})")
    return files[f"{usable[-1][1]}.ptx"]


def allocate_temporaries(device, variant):
    """Device buffers for the variant's temporaries (manifest bytes)."""
    return [device.alloc(nbytes) for nbytes in variant.get("temporaries", [])]


def run_case(device, manifest, variant, artefacts, functions):
    """Runs a correctness variant (a norm or a gradient case) on `device`
    and checks it; returns the list of problems (empty when within
    tolerance)."""
    gradient = variant["kind"] == "gradcase"
    case = (GradCase if gradient else NormCase).parse(variant["spec"])
    values = case.inputs()
    args = variant["args"]
    if gradient:
        inputs = values
    else:
        inputs = {"input": values["x"], "residual": values.get("r"),
                  "gamma": values.get("g"), "beta": values.get("b")}
    pointers, sizes = [], []
    for arg in args:
        if arg["role"] == "scalar":
            pointers.append(None)
            sizes.append(0)
            continue
        count = int(np.prod(arg["shape"])) if arg["shape"] else 1
        nbytes = count * types.byte_size(arg["dtype"])
        ptr = device.alloc(nbytes)
        if arg["role"] == "in":
            device.upload(ptr, types.to_bits(inputs[arg["name"]], arg["dtype"]))
        elif arg["dtype"] in types.QUANTIZED_TYPES:
            # 0x7F: NaN in f8E4M3FN, i8's saturated 127 (i8 has no NaN).
            device.upload(ptr, b"\x7f" * nbytes)
        else:
            # NaN-filled destinations: an element the kernel misses shows.
            device.upload(ptr, types.to_bits(np.full(count, np.nan), arg["dtype"]))
        pointers.append(ptr)
        sizes.append(nbytes)
    temporaries = allocate_temporaries(device, variant)
    try:
        for launch in variant["launches"]:
            key = (launch["module"], launch["kernel"])
            if key not in functions:
                path = os.path.join(artefacts,
                                    choose_binary(manifest, launch, device.capability()))
                with open(path, "rb") as f:
                    functions[key] = device.load(f.read(), launch["kernel"],
                                                 launch["module"])
            device.launch(functions[key], launch["grid"], launch["block"],
                          param_values(launch, args, pointers, temporaries))
        device.synchronize()
        outputs = [types.from_bytes(device.download(ptr, n), arg["dtype"],
                                    arg["shape"])
                   for arg, ptr, n in zip(args, pointers, sizes)
                   if arg["role"] == "out"]
    finally:
        for ptr in pointers + temporaries:
            if ptr is not None:
                device.free(ptr)
    return case.check(outputs, values)


def run_cases(device, artefacts, names=None, log=print):
    with open(os.path.join(artefacts, "manifest.json")) as f:
        manifest = json.load(f)
    functions = {}
    failures = passed = 0
    for variant in manifest["variants"]:
        if variant["kind"] not in ("case", "gradcase"):
            continue
        if names and variant["name"] not in names:
            continue
        try:
            problems = run_case(device, manifest, variant, artefacts, functions)
        except DeviceError as err:
            problems = [str(err)]
        if problems:
            failures += 1
            log(f"FAIL {variant['name']}: {variant['spec']}")
            for p in problems:
                log(f"    {p}")
        else:
            passed += 1
    log(f"{passed} passed, {failures} failed")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artefacts", required=True)
    parser.add_argument("--emulate", metavar="LIBRARY",
                        help="run on the CPU emulator built from the kernels")
    args = parser.parse_args(argv)
    device = EmulatedDevice(args.emulate) if args.emulate else CudaDevice()
    start = time.time()
    failures = run_cases(device, args.artefacts)
    print(f"({device.name()}, {time.time() - start:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
