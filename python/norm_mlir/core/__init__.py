"""The core of norm_mlir, under both the public API and the test harness:

- `tools`: where norm-opt, MLIR's and LLVM's tools, the runner libraries,
  clang and ptxas are;
- `pipelines`: the named lowering pipelines and the textual-pipeline helpers;
- `types`: element types, MLIR type strings, numpy storage, bit patterns;
- `kernels`: the one writer of norm.layer_norm / norm.rms_norm kernel IR.

Core imports nothing else from norm_mlir (see python/README.md, "Layers").
"""
