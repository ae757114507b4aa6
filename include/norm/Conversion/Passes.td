//===- Passes.td - norm conversion passes ------------------*- tablegen -*-===//

#ifndef NORM_CONVERSION_PASSES_TD
#define NORM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNormToLinalg : Pass<"convert-norm-to-linalg"> {
  let summary = "Lower norm ops to linalg.generic (the reference semantics)";
  let description = [{
    Replaces every `norm.layer_norm` and `norm.rms_norm`, on tensors or on
    memrefs, by its decomposition into `linalg.generic`s: a pivoted sum for
    the mean, a centred and scaled sum of squares for the variance (or the
    mean square), then one elementwise generic for the output. f16 and bf16
    are accumulated in f32. This is the semantics every other lowering is
    checked against, and the way into any linalg-based stack.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // NORM_CONVERSION_PASSES_TD
