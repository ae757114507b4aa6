"""pytest set-up for the norm_mlir suite: makes `python/` importable when run
from the repository root (`python3 -m pytest -q python/tests`) and offers
the pipelines the JIT can be tested with.

libNormCAPI.so is found as norm_mlir._capi describes (NORM_BUILD_DIR,
default `build/`); the tests fail, saying so, when it is not built.
"""

import os
import sys

import numpy as np
import pytest

_PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _PYTHON_DIR not in sys.path:
    sys.path.insert(0, _PYTHON_DIR)


def jit_pipelines():
    """The lowering pipelines to run kernels through: the reference lowering
    always, the CPU pipeline once it is registered."""
    from norm_mlir import compiler
    pipelines = ["linalg"]
    if compiler.has_pass("norm-cpu-pipeline"):
        pipelines.append("cpu")
    return pipelines


@pytest.fixture(scope="session")
def torch():
    """torch, or a skip when python3-torch is not installed."""
    return pytest.importorskip("torch", reason="python3-torch is not installed")


#: numpy storage of each element type (bf16 as uint16 bit patterns).
STORAGE = {"f32": np.float32, "f16": np.float16, "f64": np.float64,
           "bf16": np.uint16}


def store(values, dtype):
    """`values` stored as `dtype`, and the stored values as float64."""
    from norm_mlir import reference
    if dtype == "bf16":
        bits = reference.float_to_bf16_bits(values)
        return bits, reference.bf16_bits_to_float(bits)
    array = np.asarray(values).astype(STORAGE[dtype])
    return array, array.astype(np.float64)


def values_of(array, dtype):
    """The float64 values of an array stored as `dtype`."""
    from norm_mlir import reference
    if dtype == "bf16":
        return reference.bf16_bits_to_float(array)
    return np.asarray(array, np.float64)
