//===- GradientLoops.h - Gradient ops on memrefs to row loops ---*- C++ -*-===//

#ifndef NORM_LIB_CONVERSION_NORMTOAFFINE_GRADIENTLOOPS_H
#define NORM_LIB_CONVERSION_NORMTOAFFINE_GRADIENTLOOPS_H

#include "mlir/IR/PatternMatch.h"
#include "norm/Conversion/NormToAffine/NormToAffine.h"
#include "norm/Dialect/Norm/IR/NormOps.h"

#include <string>

namespace mlir {
namespace norm {

/// Why the CPU lowering cannot take the gradient op `op` (an element type
/// it cannot load or store), or "" when it can.
std::string getUnsupportedGradTypeReason(NormGradOpInterface op);

/// Replaces the gradient op `op`, on memrefs, by row loops of vector code
/// (GradientLoops.cpp): vectorised sweeps over each row, blocks of rows in
/// parallel, dgamma/dbeta from per-block partial rows summed in block
/// order. Where its buffers cannot be viewed as rows x N with unit-stride
/// rows, by the affine loops of its linalg decomposition instead. Fails,
/// changing nothing, on tensors.
LogicalResult
lowerNormGradOpToAffine(RewriterBase &rewriter, NormGradOpInterface op,
                        const ConvertNormToAffineOptions &options);

/// Emits the forward op `op`'s statistics sweeps only, in the forward row
/// kernel's schedule, writing its mean (LayerNorm) and rstd destinations;
/// its output is not touched. For gradients that recompute them. With
/// `meanOffset` (a buffer shaped like the mean), the mean is written as its
/// two parts, the pivot p into the mean destination and the offset d into
/// `meanOffset`, so that the gradient centres x as (x - p) - d, as the
/// reference does, never by the rounded mean.
void emitNormStatisticsLoops(OpBuilder &b, NormOpInterface op,
                             const ConvertNormToAffineOptions &options,
                             Value meanOffset = Value());

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOAFFINE_GRADIENTLOOPS_H
