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

#include "norm/Dialect/Norm/IR/NormInterfaces.h.inc"

#define GET_OP_CLASSES
#include "norm/Dialect/Norm/IR/NormOps.h.inc"

namespace mlir {
namespace norm {

/// The element type statistics are accumulated in for an input of
/// `elementType`: f64 for f64, f32 for everything narrower.
Type getComputeElementType(Type elementType);

/// The constants of the tiny-row rescue. A row whose centred elements are
/// all far below the square root of the compute type's smallest normal
/// number (|x| < ~1e-19 in f32) has squares that are subnormal, with few
/// significant bits, and a sum of squares q that is off by up to ~1e-3
/// relative. Where q < `threshold` and eps < `epsBound` (a larger eps swamps
/// any error in such a q), the lowerings sum the squares again with every
/// centred element multiplied by `scale`, a power of two (so exactly), to
/// get q', and take rstd = scale / sqrt(q' + eps * scale * scale). Nothing
/// overflows: q < threshold bounds every scaled element, and eps < epsBound
/// bounds eps * scale^2. For rows of up to 2^26 elements, a q of at least
/// `threshold` is accurate to the compute type's precision as computed.
struct TinyRowRescue {
  llvm::APFloat threshold, scale, epsBound;
};

/// The tiny-row rescue's constants for `op` (in its compute type), or
/// std::nullopt when its epsilon is a constant of at least `epsBound` (as
/// every usual epsilon is), so that no row can need it.
std::optional<TinyRowRescue> getTinyRowRescue(NormOpInterface op);

/// The tiny-row rescue's row-invariant values, in the type of `eps`: its
/// scale and threshold, eps * scale^2, and for a run-time eps the i1
/// `eps < epsBound` (null for a constant eps, which getTinyRowRescue has
/// checked).
struct TinyRowRescueValues {
  Value scale, threshold, scaledEps, epsIsSmall;
};

/// Creates the values of `rescue` for `eps` at the insertion point.
TinyRowRescueValues createTinyRowRescueValues(OpBuilder &b, Location loc,
                                              const TinyRowRescue &rescue,
                                              Value eps, bool runTimeEps);

/// The i1 that a row whose sum of squares is `sumSq` takes the rescue.
Value createIsTinyRow(OpBuilder &b, Location loc,
                      const TinyRowRescueValues &rescue, Value sumSq);

/// Whether `elementType` is a quantised output type: `i8` or `f8E4M3FN`
/// (both need an `out_scale`).
bool isQuantizedElementType(Type elementType);

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
