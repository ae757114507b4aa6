"""pytest set-up for the norm_mlir suite: makes `python/` importable when run
from the repository root (`python3 -m pytest -q python/tests`) and offers
the pipelines the JIT can be tested with.

libNormCAPI.so is found as norm_mlir._capi describes (NORM_BUILD_DIR,
default `build/`); the tests fail, saying so, when it is not built.
"""

import os
import sys

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
