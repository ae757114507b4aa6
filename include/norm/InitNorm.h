//===- InitNorm.h - Register everything norm-mlir provides ------*- C++ -*-===//

#ifndef NORM_INITNORM_H
#define NORM_INITNORM_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir {
namespace norm {

/// Adds the norm dialect, its external interface models and its extension of
/// the transform dialect (`transform.norm.*`) to `registry`.
void registerNormDialects(DialectRegistry &registry);

/// Registers every norm pass and pipeline with the global registry, so that
/// `mlir-opt`-style drivers and pass-pipeline strings can name them.
void registerNormPasses();

} // namespace norm
} // namespace mlir

#endif // NORM_INITNORM_H
