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

/// The per-row statistics of a norm op as linalg generics, built at the
/// builder's insertion point: the values its output is normalised with
/// (row-shaped tensors or buffers in the compute type; pivot and offset
/// null for RMSNorm), and the buffers allocated for them and on the way
/// (memrefs), which the caller deallocates once it has used them.
struct LinalgRowStatistics {
  RowStatistics statistics;
  SmallVector<Value> temporaries;
};

/// The stages of decomposeToLinalg up to rstd, for `op` (a forward op whose
/// output, mean and rstd destinations are not touched).
LinalgRowStatistics decomposeStatisticsToLinalg(OpBuilder &b,
                                                NormOpInterface op);

/// A forward op over `input` (normalised from `axis`) with `op`'s epsilon
/// (attribute or run-time value) that stands for the statistics `op`
/// recomputes: it writes only `mean` and `rstd` (either may be null), its
/// output is `input` itself and never written. Built detached, never
/// inserted; the lowering that builds the statistics from it destroys it.
NormOpInterface createDetachedStatisticsOp(NormGradOpInterface op, Value input,
                                           int64_t axis, Value mean,
                                           Value rstd);

/// Builds the `linalg.generic` decomposition of the gradient op `op` (its
/// reference semantics), as decomposeToLinalg does for the forward ops.
FailureOr<SmallVector<Value>> decomposeGradToLinalg(OpBuilder &b,
                                                    NormGradOpInterface op);

} // namespace norm
} // namespace mlir

#endif // NORM_DIALECT_NORM_IR_NORMOPS_H
