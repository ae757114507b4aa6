//===- NormToAffine.h - Norm ops to vectorised affine loops ----*- C++ -*-===//

#ifndef NORM_CONVERSION_NORMTOAFFINE_NORMTOAFFINE_H
#define NORM_CONVERSION_NORMTOAFFINE_NORMTOAFFINE_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace norm {

#define GEN_PASS_DECL_CONVERTNORMTOAFFINE
#include "norm/Conversion/Passes.h.inc"

/// The number of f32 lanes in the widest vector register of the host: 16
/// with AVX-512, 8 with AVX, 4 otherwise. This is what a `vector-width` of 0
/// resolves to.
unsigned getHostVectorWidth();

/// Parses `text`, options written as `--convert-norm-to-affine` takes them
/// (e.g. "vector-width=8 unroll=2"), over the options' defaults; reports a
/// malformed or unknown option through `errorHandler`.
FailureOr<ConvertNormToAffineOptions> parseNormToAffineOptions(
    StringRef text, function_ref<LogicalResult(const Twine &)> errorHandler);

/// Adds the pattern that rewrites norm ops on memrefs into row loops of
/// vector code, configured by `options` (a zero vector width is the host's).
void populateNormToAffineConversionPatterns(
    RewritePatternSet &patterns, const ConvertNormToAffineOptions &options);

} // namespace norm
} // namespace mlir

#endif // NORM_CONVERSION_NORMTOAFFINE_NORMTOAFFINE_H
