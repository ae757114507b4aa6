# -*- Python -*-
# lit configuration for the norm-mlir test suite.

import os
import shutil

import lit.formats
import lit.util
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "NORM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".td"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.norm_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# The tests use Debian's python3 (it sees python3-numpy), and the project's
# Python package for the self-checking integration tests.
python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
config.substitutions.append(("%python", python))
config.environment["PYTHONPATH"] = os.path.join(config.norm_src_root, "python")
config.environment["NORM_OPT"] = os.path.join(config.norm_tools_dir, "norm-opt")
config.environment["MLIR_TOOLS_DIR"] = config.llvm_tools_dir
config.environment["MLIR_LIB_DIR"] = config.mlir_lib_dir

# Shared libraries the runner loads.
config.substitutions.append(
    ("%mlir_runner_utils", os.path.join(config.mlir_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(
    ("%mlir_c_runner_utils", os.path.join(config.mlir_lib_dir, "libmlir_c_runner_utils.so")))

tool_dirs = [config.norm_tools_dir, config.llvm_tools_dir]
tools = ["norm-opt", "norm-tblgen", "mlir-runner", "mlir-translate", "FileCheck", "not",
         "split-file", "llvm-nm"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
# Include paths for norm-tblgen: our .td files and MLIR's.
tblgen_includes = [os.path.join(config.norm_src_root, "include")]
tblgen_includes += filter(None, config.mlir_include_dirs.split(";"))
config.substitutions.append(
    ("%tblgen_includes", " ".join("-I" + d for d in tblgen_includes)))

# Optional features.
ptxas = shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
# A C compiler for the ahead-of-time tests, which compile what the CPU
# pipeline emits and link it with a C caller; LLVM's OpenMP runtime for
# kernels lowered with openmp=true.
clang = shutil.which("clang-22") or shutil.which("clang")
if clang:
    config.available_features.add("clang")
    config.substitutions.append(("%clang", clang))
config.substitutions.append(
    ("%libomp", os.path.join(config.mlir_lib_dir, "libomp.so")))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
import platform
if platform.machine().lower() in ("x86_64", "amd64"):
    config.available_features.add("x86-host")
try:
    import subprocess
    subprocess.run([python, "-c", "import numpy"], check=True, capture_output=True)
    config.available_features.add("numpy")
except Exception:
    pass
try:
    subprocess.run([python, "-c", "import torch"], check=True, capture_output=True)
    config.available_features.add("torch")
except Exception:
    pass

# Sanitized builds (NORM_ENABLE_SANITIZERS): norm-opt above is the sanitized
# one of this build directory, and aborts on the first report (see
# tools/common/SanitizerDefaults.cpp). Tests can require or skip on them.
for sanitizer in filter(None, getattr(config, "norm_sanitizers", "").split(";")):
    config.available_features.add({"address": "asan", "undefined": "ubsan",
                                   "leak": "lsan"}.get(sanitizer, sanitizer))
symbolizer = os.path.join(config.llvm_tools_dir, "llvm-symbolizer")
if os.path.exists(symbolizer):
    config.environment["ASAN_SYMBOLIZER_PATH"] = symbolizer
# The libFuzzer target, in builds with NORM_ENABLE_FUZZER.
if lit.util.pythonize_bool(getattr(config, "norm_fuzzer", "OFF")):
    config.available_features.add("norm-fuzz")
    llvm_config.add_tool_substitutions(["norm-fuzz"], [config.norm_tools_dir])
# Debian's stock mlir-opt with NormPlugin.so loaded as dialect and pass
# plugin (test/Plugin). Passes a plugin registers are not command-line flags
# of the tool (they are registered after its flags are parsed), so the tests
# name them in --pass-pipeline.
norm_plugin = os.path.join(config.norm_obj_root, "lib", "NormPlugin.so")
config.substitutions.append(("%norm_plugin", norm_plugin))
config.substitutions.append(
    ("%stock_mlir_opt", os.path.join(config.llvm_tools_dir, "mlir-opt")))
config.substitutions.append(("%norm_src_root", config.norm_src_root))
config.substitutions.append(("%norm_tools_dir", config.norm_tools_dir))
for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "ASAN_SYMBOLIZER_PATH"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

# The CPU emulator of the GPU kernels (python/norm_mlir/gpu/emulator.py)
# compiles their LLVM IR with clang.
if "numpy" in config.available_features and (
        shutil.which("clang-22") or shutil.which("clang") or
        os.path.exists(os.path.join(config.llvm_tools_dir, "clang"))):
    config.available_features.add("gpu-emulator")

# A CUDA driver (and so possibly a GPU): the device harness would run for real.
try:
    import ctypes
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
except OSError:
    pass
