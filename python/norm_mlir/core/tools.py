"""Where the tools norm_mlir runs are: norm-opt, MLIR's and LLVM's tools
(mlir-runner, mlir-translate, llvm-dis), the runner libraries, clang and
ptxas; and a subprocess runner with a time limit.

Environment: `NORM_OPT` (norm-opt; default `build/bin/norm-opt` in the
source tree), `MLIR_TOOLS_DIR` (LLVM's tools; default
/usr/lib/llvm-22/bin), `MLIR_LIB_DIR` (LLVM's libraries; default
/usr/lib/llvm-22/lib), `CUDA_HOME` (ptxas, when not on PATH).
"""

import os
import shutil
import subprocess

#: The source tree's root (python/norm_mlir/core/tools.py is four levels in).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DEFAULT_TOOLS_DIR = "/usr/lib/llvm-22/bin"
DEFAULT_LIB_DIR = "/usr/lib/llvm-22/lib"


class ToolError(RuntimeError):
    """A tool failed or ran out of time."""


def tools_dir():
    """LLVM's and MLIR's tools: `$MLIR_TOOLS_DIR`, else LLVM 22's."""
    return os.environ.get("MLIR_TOOLS_DIR", DEFAULT_TOOLS_DIR)


def lib_dir():
    """LLVM's and MLIR's libraries: `$MLIR_LIB_DIR`, else LLVM 22's."""
    return os.environ.get("MLIR_LIB_DIR", DEFAULT_LIB_DIR)


def tool(name, env_var=None):
    """The LLVM or MLIR tool `name`: `$env_var` when given and set, else
    `name` in tools_dir(), else on PATH, else the bare name."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    candidate = os.path.join(tools_dir(), name)
    if os.path.exists(candidate):
        return candidate
    return shutil.which(name) or name


def norm_opt():
    """norm-opt: `$NORM_OPT`, else the source tree's `build/bin/norm-opt`."""
    return os.environ.get("NORM_OPT") or os.path.join(ROOT, "build", "bin",
                                                      "norm-opt")


def mlir_runner():
    return tool("mlir-runner")


def mlir_translate():
    return tool("mlir-translate")


def llvm_dis():
    return tool("llvm-dis")


def runner_libs():
    """MLIR's runner utilities (printing, memrefCopy), which mlir-runner and
    the JIT load."""
    return [os.path.join(lib_dir(), "libmlir_runner_utils.so"),
            os.path.join(lib_dir(), "libmlir_c_runner_utils.so")]


def openmp_lib():
    """LLVM's OpenMP runtime, for code lowered with OpenMP."""
    return os.path.join(lib_dir(), "libomp.so")


def _compiler(names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return os.path.join(tools_dir(), names[-1])


def clang():
    """clang-22 or clang on PATH, else clang in tools_dir() (which may not
    exist: `os.path.exists` says)."""
    return _compiler(("clang-22", "clang"))


def clangxx():
    """clang++-22 or clang++ on PATH, else clang++ in tools_dir()."""
    return _compiler(("clang++-22", "clang++"))


def cuda_tool(name):
    """The CUDA toolkit's `name` on PATH, in `$CUDA_HOME/bin` or
    /usr/local/cuda/bin; None when there is none."""
    path = shutil.which(name)
    if path:
        return path
    for candidate in (os.environ.get("CUDA_HOME", ""), "/usr/local/cuda"):
        path = os.path.join(candidate, "bin", name)
        if candidate and os.path.exists(path):
            return path
    return None


def ptxas():
    """ptxas (cuda_tool), or None."""
    return cuda_tool("ptxas")


def nvcc():
    """nvcc (cuda_tool), or None."""
    return cuda_tool("nvcc")


def run(cmd, *, input=None, timeout=None):
    """Runs `cmd` and returns its CompletedProcess (text output captured);
    raises ToolError when it runs past `timeout` seconds. A non-zero exit is
    the caller's to judge."""
    try:
        return subprocess.run(cmd, input=input, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"timed out after {timeout} s: {' '.join(cmd)}") from None
