//===- GradientLoops.h - Gradient ops on memrefs to affine loops -*- C++
//-*-===//

#ifndef NORM_LIB_CONVERSION_NORMTOAFFINE_GRADIENTLOOPS_H
#define NORM_LIB_CONVERSION_NORMTOAFFINE_GRADIENTLOOPS_H

#include "mlir/IR/PatternMatch.h"
#include "norm/Dialect/Norm/IR/NormOps.h"

#include <string>

namespace mlir {
namespace norm {

/// Why the CPU lowering cannot take the gradient op `op` (an element type
/// it cannot load or store), or "" when it can.
std::string getUnsupportedGradTypeReason(NormGradOpInterface op);

/// Replaces the gradient op `op`, on memrefs, by the affine loops of its
/// linalg decomposition. Fails, changing nothing, on tensors.
LogicalResult lowerNormGradOpToAffine(RewriterBase &rewriter,
                                      NormGradOpInterface op);

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOAFFINE_GRADIENTLOOPS_H
