//===- Passes.td - norm transformation passes --------------*- tablegen -*-===//

#ifndef NORM_TRANSFORMS_PASSES_TD
#define NORM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NormExpandFp8Casts : Pass<"norm-expand-fp8-casts"> {
  let summary = "Expand arith.truncf to f8E4M3FN into integer arithmetic";
  let description = [{
    LLVM has no 8-bit float types, and MLIR's arith-to-LLVM conversion leaves
    `arith.truncf` to `f8E4M3FN` unconverted. This pass rewrites each such
    truncation (from f16, bf16, f32 or f64; scalars or vectors) into integer
    arithmetic on the source's bits with the same result as the constant
    folder: round to nearest even, NaN for NaN and for magnitudes that round
    above 448 (the format has no infinity). Quantised norm outputs saturate
    before they truncate, so they never reach the NaN case.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // NORM_TRANSFORMS_PASSES_TD
