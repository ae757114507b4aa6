//===- RowSweeps.h - Vector sweeps over the rows of memrefs -----*- C++ -*-===//
//
// The loop engine of the CPU row kernels, which knows nothing of what a
// row computes: the loops over the rows (affine.parallel, scf.parallel or a
// nest), and within a row sweeps over its normalised elements in vectors,
// with U independent copies of the loop-carried state (so that the adds of
// consecutive vectors do not wait on each other), a masked last vector, and
// one loop per outer normalised dim when they are not contiguous.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_CONVERSION_NORMTOAFFINE_ROWSWEEPS_H
#define NORM_LIB_CONVERSION_NORMTOAFFINE_ROWSWEEPS_H

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir {
namespace norm {

/// The body of one vector step of a sweep: `indices` address the first lane
/// in the normalised dims, `mask` is null for a full vector and the mask of
/// the valid lanes for the last, partial one; `state` is this copy's
/// loop-carried state, and the step returns its next value.
using VectorStep = function_ref<SmallVector<Value>(
    OpBuilder &b, ValueRange indices, Value mask, ValueRange state)>;

/// A loop body: returns the values it yields.
using LoopBody =
    function_ref<SmallVector<Value>(OpBuilder &b, Value iv, ValueRange args)>;

/// The body of one step of sweepAligned: the index of the first lane, the
/// mask (null for an aligned vector) and whether to store non-temporally.
using AlignedStep =
    function_ref<void(OpBuilder &b, Value index, Value mask, bool nontemporal)>;

/// Emits the loops of a row kernel over buffers whose rows are the leading
/// `rowSizes` dims and whose normalised elements the trailing `normSizes`
/// dims, and the vector accesses of `lanes` lanes (scalars in `vector<1x..>`
/// when `lanes` is 1, e.g. for a trailing dim that is not unit-stride).
/// Loops are affine when `useAffine` (every bound a valid affine symbol),
/// `scf` otherwise.
class RowSweeps {
public:
  RowSweeps(Location loc, ArrayRef<OpFoldResult> rowSizes,
            ArrayRef<OpFoldResult> normSizes, int64_t lanes, bool useAffine)
      : loc(loc), rowSizes(rowSizes), normSizes(normSizes), lanes(lanes),
        useAffine(useAffine) {}

  int64_t getLanes() const { return lanes; }
  /// A vector of `lanes` elements of `elementType`.
  VectorType vectorOf(Type elementType) const {
    return VectorType::get({lanes}, elementType);
  }

  //--- Loops ----------------------------------------------------------------
  /// Emits `for iv = lb(size) to ub(size) step step` carrying `args`, where
  /// `lb` and `ub` are affine functions of the symbol `s0` standing for
  /// `size`; returns the loop results. Nothing is emitted for a statically
  /// empty loop.
  SmallVector<Value> emitFor(OpBuilder &b, OpFoldResult size, AffineExpr lb,
                             AffineExpr ub, int64_t step, ValueRange args,
                             LoopBody body);
  /// Emits the loops over the rows and calls `body` inside them with the
  /// row ivs: parallel loops when `parallel` (a bool attribute, or an i1
  /// decided at run time: then both loops, under an scf.if, and `body` is
  /// called twice), serial ones otherwise.
  void emitRowLoops(OpBuilder &b, OpFoldResult parallel,
                    function_ref<void(OpBuilder &, ValueRange)> body);
  /// Walks the normalised elements of a row in vectors, threading `copies`
  /// copies of `init` through `step`; returns each copy's final state.
  SmallVector<SmallVector<Value>> sweep(OpBuilder &b, ValueRange init,
                                        unsigned copies, VectorStep step);
  /// Walks one contiguous row whose first element is at the byte address
  /// `rowAddress` so that its whole vectors are aligned for non-temporal
  /// stores of `elementBytes`-byte elements: a masked vector up to the first
  /// aligned element, the aligned vectors, a masked remainder.
  void sweepAligned(OpBuilder &b, Value rowAddress, int64_t elementBytes,
                    AlignedStep step);

  //--- Vector accesses and reductions ---------------------------------------
  /// Loads a vector (of `numLanes`, default `lanes`) from `buffer` at
  /// `indices`; masked-off lanes read as zero.
  Value load(OpBuilder &b, Value buffer, ValueRange indices, Value mask,
             int64_t numLanes = 0);
  /// Stores the vector `value` into `buffer` at `indices`: only the lanes of
  /// `mask` when it is given, non-temporally when asked (an aligned whole
  /// vector).
  void store(OpBuilder &b, Value value, Value buffer, ValueRange indices,
             Value mask, bool nontemporal = false);
  /// `value` with the lanes outside `mask` set to zero.
  Value zeroMasked(OpBuilder &b, Value value, Value mask);
  /// The sum of all lanes of the `index`th state vector of all `copies`.
  Value reduceSum(OpBuilder &b, ArrayRef<SmallVector<Value>> copies,
                  unsigned index = 0);
  /// The largest of all lanes of the `index`th state vector of all `copies`
  /// (`maximumf`: NaN if any lane is NaN).
  Value reduceMax(OpBuilder &b, ArrayRef<SmallVector<Value>> copies,
                  unsigned index = 0);

private:
  Value reduce(OpBuilder &b, ArrayRef<SmallVector<Value>> copies,
               unsigned index, vector::CombiningKind kind);
  SmallVector<SmallVector<Value>>
  sweepInnermost(OpBuilder &b, SmallVector<Value> outerIndices,
                 SmallVector<SmallVector<Value>> state, VectorStep step);

  Location loc;
  SmallVector<OpFoldResult> rowSizes, normSizes;
  int64_t lanes;
  bool useAffine;
};

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOAFFINE_ROWSWEEPS_H
