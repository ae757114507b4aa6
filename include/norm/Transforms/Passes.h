//===- Passes.h - norm transformation passes --------------------*- C++ -*-===//

#ifndef NORM_TRANSFORMS_PASSES_H
#define NORM_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace norm {

#define GEN_PASS_DECL
#include "norm/Transforms/Passes.h.inc"

/// Adds patterns rewriting `arith.truncf` to `f8E4M3FN` into integer
/// arithmetic (see `--norm-expand-fp8-casts`).
void populateExpandFp8CastsPatterns(RewritePatternSet &patterns);

/// Adds the pattern that replaces decomposed LayerNorm / RMSNorm chains on
/// tensors by `norm.layer_norm` / `norm.rms_norm`. With `report`, every
/// capture emits a remark at the location of the chain's final op.
void populateNormCapturePatterns(RewritePatternSet &patterns,
                                 bool report = false);

#define GEN_PASS_REGISTRATION
#include "norm/Transforms/Passes.h.inc"

} // namespace norm
} // namespace mlir

#endif // NORM_TRANSFORMS_PASSES_H
