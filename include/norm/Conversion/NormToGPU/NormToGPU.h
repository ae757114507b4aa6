//===- NormToGPU.h - Lower norm ops to GPU kernels --------------*- C++ -*-===//

#ifndef NORM_CONVERSION_NORMTOGPU_NORMTOGPU_H
#define NORM_CONVERSION_NORMTOGPU_NORMTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
class RewriterBase;

namespace norm {
class NormOpInterface;
class NormGradOpInterface;

#define GEN_PASS_DECL_CONVERTNORMTOGPU
#define GEN_PASS_DECL_NORMGPUSQRTTOLLVM
#define GEN_PASS_DECL_NORMGPUDEVICEBUFFERS
#define GEN_PASS_DECL_NORMGPUCALLERSTREAMS
#include "norm/Conversion/Passes.h.inc"

/// Parses `text`, options written as `--convert-norm-to-gpu` takes them
/// (e.g. "block-size=256 vector-width=4"), over the options' defaults;
/// reports a malformed or unknown option through `errorHandler`. The values
/// are not checked (see checkNormToGPUOptions).
FailureOr<ConvertNormToGPUOptions>
parseNormToGPUOptions(StringRef text,
                      function_ref<LogicalResult(const Twine &)> errorHandler);

/// Checks that `options` describe launches the lowering can build (block
/// size, rows per block and vector width in range); on failure, says why in
/// `whyNot` when given.
LogicalResult checkNormToGPUOptions(const ConvertNormToGPUOptions &options,
                                    std::string *whyNot = nullptr);

/// Checks that `op` can be lowered to a GPU kernel: memref operands in global
/// memory, of element types f16/bf16/f32/f64 (and i8 or f8E4M3FN for a
/// quantised output, with an f16/bf16/f32/f64 out_scale), contiguous within
/// the row dims and within the normalised dims, in host code. On failure, says
/// why in `whyNot` when given.
LogicalResult checkNormOpLowerableToGPU(NormOpInterface op,
                                        std::string *whyNot = nullptr);

/// Replaces `op`, a norm op on memrefs, by a `gpu.launch` computing it. `op`
/// and `options` must pass the checks above.
LogicalResult lowerNormOpToGPULaunch(RewriterBase &rewriter, NormOpInterface op,
                                     const ConvertNormToGPUOptions &options);

/// Checks that the gradient op `op` can be lowered to GPU kernels: the
/// checks of checkNormOpLowerableToGPU on its operands.
LogicalResult checkNormGradOpLowerableToGPU(NormGradOpInterface op,
                                            std::string *whyNot = nullptr);

/// Replaces the gradient op `op`, on memrefs, by the `gpu.launch`es
/// computing it (docs/Gradients.md): its statistics when they are
/// recomputed, dx and per-row-slot partial rows of dgamma/dbeta, then the
/// column sums of those partial rows. `op` and `options` must pass the
/// checks.
LogicalResult lowerNormGradOpToGPU(RewriterBase &rewriter,
                                   NormGradOpInterface op,
                                   const ConvertNormToGPUOptions &options);

/// Adds the pattern that rewrites norm ops on memrefs into `gpu.launch`es.
void populateNormToGPUConversionPatterns(
    RewritePatternSet &patterns, const ConvertNormToGPUOptions &options = {});

/// Adds the patterns rewriting f32/f64 `math.sqrt` and `math.rsqrt` into
/// calls of the `llvm.sqrt` intrinsic, and `math.roundeven` into
/// `llvm.roundeven` (see `--norm-gpu-sqrt-to-llvm`).
void populateSqrtToLLVMIntrinsicPatterns(RewritePatternSet &patterns);

} // namespace norm
} // namespace mlir

#endif // NORM_CONVERSION_NORMTOGPU_NORMTOGPU_H
