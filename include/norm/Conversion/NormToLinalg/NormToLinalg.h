//===- NormToLinalg.h - Lower norm ops to linalg ----------------*- C++ -*-===//

#ifndef NORM_CONVERSION_NORMTOLINALG_NORMTOLINALG_H
#define NORM_CONVERSION_NORMTOLINALG_NORMTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace norm {

#define GEN_PASS_DECL_CONVERTNORMTOLINALG
#include "norm/Conversion/Passes.h.inc"

/// Adds the patterns that rewrite norm ops into `linalg.generic`s.
void populateNormToLinalgConversionPatterns(RewritePatternSet &patterns);

} // namespace norm
} // namespace mlir

#endif // NORM_CONVERSION_NORMTOLINALG_NORMTOLINALG_H
