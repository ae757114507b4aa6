//===- Passes.h - norm transformation passes --------------------*- C++ -*-===//

#ifndef NORM_TRANSFORMS_PASSES_H
#define NORM_TRANSFORMS_PASSES_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
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

/// Runs `--norm-capture` on the ops nested in `root`: visits each block
/// bottom-up, replaces every decomposed norm it proves by a norm op, and
/// erases what the captures leave dead, and nothing else. Every change to
/// the IR is reported to `listener`, when given (the transform dialect's
/// `transform.norm.capture` tracks its handles and the ops it created so).
void captureNorms(Operation *root, const NormCaptureOptions &options = {},
                  RewriterBase::Listener *listener = nullptr);

/// Runs `--norm-fuse` on the norm ops nested in `root` (and on `root`, if it
/// is one): applies the fusion patterns to them and to the fused ops that
/// replace them, without folding, reporting every change to `listener` when
/// given. Fails if the rewrite does not converge.
LogicalResult fuseNorms(Operation *root,
                        RewriterBase::Listener *listener = nullptr);

/// The unit attribute `--norm-outline-kernels` puts on the calls it creates:
/// the callee computes a norm op, which the GPU lowering makes a kernel
/// launch (so the caller's buffers must be device memory).
constexpr StringLiteral kKernelCallAttrName = "norm.kernel_call";

#define GEN_PASS_REGISTRATION
#include "norm/Transforms/Passes.h.inc"

} // namespace norm
} // namespace mlir

#endif // NORM_TRANSFORMS_PASSES_H
