//===- NormOps.h - Operations of the norm dialect ---------------*- C++ -*-===//

#ifndef NORM_DIALECT_NORM_IR_NORMOPS_H
#define NORM_DIALECT_NORM_IR_NORMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "norm/Dialect/Norm/IR/NormDialect.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

#include "norm/Dialect/Norm/IR/NormInterfaces.h.inc"

#define GET_OP_CLASSES
#include "norm/Dialect/Norm/IR/NormOps.h.inc"

namespace mlir {
namespace norm {

/// Registers the external models (bufferization) of the norm ops.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

/// Builds the `linalg.generic` decomposition of `op` (its reference
/// semantics) at the builder's insertion point and returns the values that
/// replace its results. Works on tensors and on memrefs (for which it returns
/// no values and writes the destinations).
FailureOr<SmallVector<Value>> decomposeToLinalg(OpBuilder &b,
                                                NormOpInterface op);

} // namespace norm
} // namespace mlir

#endif // NORM_DIALECT_NORM_IR_NORMOPS_H
