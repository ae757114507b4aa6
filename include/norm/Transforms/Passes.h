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

#define GEN_PASS_REGISTRATION
#include "norm/Transforms/Passes.h.inc"

} // namespace norm
} // namespace mlir

#endif // NORM_TRANSFORMS_PASSES_H
