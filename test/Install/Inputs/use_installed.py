"""Uses the installed norm_mlir package: it must load the installed
libNormCAPI.so, lower IR and run a kernel. argv: prefix, an IR file."""

import os
import sys

import numpy as np

import norm_mlir
from norm_mlir import _capi

prefix, ir_file = sys.argv[1:3]
library = os.path.realpath(_capi.library_path())
print("library in the prefix:",
      library.startswith(os.path.realpath(prefix) + os.sep))
with open(ir_file) as f:
    print(norm_mlir.compile(f.read(), "convert-norm-to-linalg"))
x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
y = norm_mlir.layer_norm(x)
assert np.allclose(y.mean(axis=1), 0, atol=1e-5)
print("layer_norm ok")
