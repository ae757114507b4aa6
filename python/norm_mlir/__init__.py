"""norm-mlir: Python helpers for the norm dialect (reference, test harness),
and the Python API over its C API (libNormCAPI.so, loaded on first use):

    import numpy as np, norm_mlir
    x = np.random.randn(256, 768).astype(np.float32)
    g, b = np.ones(768, np.float32), np.zeros(768, np.float32)
    y = norm_mlir.layer_norm(x, g, b, eps=1e-5)   # JIT-compiled, cached
    print(norm_mlir.compile(ir, "convert-norm-to-linalg"))

See python/README.md.
"""

from norm_mlir.compiler import capture, compile, fuse, has_pass, \
    lower_to_affine, lower_to_linalg, verify
from norm_mlir.diagnostics import Diagnostic, MLIRError
from norm_mlir.jit import JitModule, default_pipeline
from norm_mlir.norms import cache_info, clear_cache, fused_add_rms_norm, \
    layer_norm, layer_norm_backward, layer_norm_dynamic_quant, rms_norm, \
    rms_norm_backward, rms_norm_dynamic_quant

__all__ = [
    "Diagnostic", "JitModule", "MLIRError", "cache_info", "capture",
    "clear_cache", "compile", "default_pipeline", "fuse", "fused_add_rms_norm",
    "has_pass",
    "layer_norm", "layer_norm_backward", "layer_norm_dynamic_quant",
    "lower_to_affine", "lower_to_linalg", "rms_norm", "rms_norm_backward",
    "rms_norm_dynamic_quant", "verify",
]
