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

/// Adds the patterns of `--norm-fuse`, which absorb neighbouring residual
/// adds, scale/shift, output casts, quantisation and statistics into norm
/// ops on tensors.
void populateNormFusionPatterns(RewritePatternSet &patterns);

/// Adds the pattern that replaces decomposed LayerNorm / RMSNorm chains on
/// tensors by `norm.layer_norm` / `norm.rms_norm`, with the options of
/// `--norm-capture` (`report`: a remark per capture; `widen-statistics`:
/// capture chains whose statistics are narrower than f32).
void populateNormCapturePatterns(RewritePatternSet &patterns,
                                 const NormCaptureOptions &options = {});

#define GEN_PASS_REGISTRATION
#include "norm/Transforms/Passes.h.inc"

} // namespace norm
} // namespace mlir

#endif // NORM_TRANSFORMS_PASSES_H
