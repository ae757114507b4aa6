//===- NormTransformOps.h - Transform dialect ops for norm ------*- C++ -*-===//

#ifndef NORM_DIALECT_NORM_TRANSFORMOPS_NORMTRANSFORMOPS_H
#define NORM_DIALECT_NORM_TRANSFORMOPS_NORMTRANSFORMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Transform/IR/TransformTypes.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
class DialectRegistry;

namespace norm {

/// Registers the norm extension of the transform dialect
/// (`transform.norm.capture`, `transform.norm.fuse` and the
/// `transform.apply_patterns.norm.*` lowerings) with `registry`.
void registerTransformDialectExtension(DialectRegistry &registry);

} // namespace norm
} // namespace mlir

#define GET_OP_CLASSES
#include "norm/Dialect/Norm/TransformOps/NormTransformOps.h.inc"

#endif // NORM_DIALECT_NORM_TRANSFORMOPS_NORMTRANSFORMOPS_H
