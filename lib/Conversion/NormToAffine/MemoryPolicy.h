//===- MemoryPolicy.h - How CPU row kernels use memory ----------*- C++ -*-===//
//
// The memory side of the CPU row kernels, apart from their arithmetic and
// their loops: when the output (and residual_out) is written with
// non-temporal stores and the fence those need, the run-time checks that
// decision takes (sizes, overlap, alignment), and prefetching the next row.
// docs/CPULowering.md ("Memory traffic") has the measurements behind it.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_CONVERSION_NORMTOAFFINE_MEMORYPOLICY_H
#define NORM_LIB_CONVERSION_NORMTOAFFINE_MEMORYPOLICY_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir {
namespace norm {

/// The alignment a non-temporal store of a vector of a cache line or more
/// needs (x86 stores it a register at a time).
inline constexpr int64_t kCacheLineBytes = 64;

/// Where a row kernel's stores go, decided once per op.
struct StorePolicy {
  /// Whether the normalise sweep uses non-temporal stores: always, or when
  /// the i1 `useNontemporal` holds (null: never).
  bool alwaysNontemporal = false;
  Value useNontemporal;
  /// Whether residual_out may be streamed too: written with non-temporal
  /// stores (a plain store first reads every line it writes) by rows that
  /// start aligned, when it overlaps neither the input nor the residual
  /// (`residualStreamable`, checked once at run time). The later sweeps of
  /// such a row then recompute h from the input and the residual, which are
  /// still in cache, instead of reading residual_out back from memory.
  bool streamResidual = false;
  Value residualStreamable;
  /// Lanes per vector: the sweeps' own, widened to a cache line for outputs
  /// that need it to keep their non-temporal hint.
  int64_t lanes = 1;

  /// Whether the normalise sweep may use non-temporal stores at all.
  bool mayUseNontemporal() const { return alwaysNontemporal || useNontemporal; }
};

/// Whether `sizes` elements of `elementBytes` bytes each come to at least
/// `threshold` bytes: a bool attribute when every size is static, otherwise
/// an i1 computed at the insertion point.
OpFoldResult createAtLeastBytes(OpBuilder &b, Location loc,
                                ArrayRef<OpFoldResult> sizes,
                                int64_t elementBytes, int64_t threshold);

/// Whether a row kernel over `rowSizes` x `normSizes` elements of `input`
/// runs its rows in parallel: with `parallel`, when the input has at least
/// `threshold` bytes (as createAtLeastBytes decides it), and never without.
OpFoldResult decideParallelRows(OpBuilder &b, Location loc, bool parallel,
                                int64_t threshold,
                                ArrayRef<OpFoldResult> rowSizes,
                                ArrayRef<OpFoldResult> normSizes, Value input);

/// Decides the store policy of a row kernel over the rows `rowSizes` of
/// `normSizes` elements that sweeps `lanes` lanes at a time; creates the
/// run-time checks the decision needs at the insertion point. The buffers
/// are the kernel's views (residual and residualOutput may be null).
/// Non-temporal stores are x86's streaming stores: elsewhere
/// `nontemporalThreshold` (bytes of output, -1 never) is ignored.
StorePolicy decideStorePolicy(OpBuilder &b, Location loc,
                              int64_t nontemporalThreshold, int64_t lanes,
                              ArrayRef<OpFoldResult> rowSizes,
                              ArrayRef<OpFoldResult> normSizes, Value input,
                              Value residual, Value output,
                              Value residualOutput);

/// The i1 that the row `rowIvs` streams residual_out: it may be streamed
/// and this row of `residualOutput` starts aligned.
Value createStreamsResidualRow(OpBuilder &b, Location loc,
                               const StorePolicy &policy, Value residualOutput,
                               ValueRange rowIvs);

/// Orders the non-temporal stores the policy may have issued before
/// anything the caller does next (an `sfence`, under the run-time decision
/// when there is one).
void emitStoreFence(OpBuilder &b, Location loc, const StorePolicy &policy);

/// The byte address of element (rowIvs, 0...) of the memref `buffer`.
Value createRowAddress(OpBuilder &b, Location loc, Value buffer,
                       ValueRange rowIvs);

/// Whether the bytes the memrefs `lhs` and `rhs` span may overlap (i1; true
/// for a negative stride).
Value createMayOverlap(OpBuilder &b, Location loc, Value lhs, Value rhs);

/// The row indices to prefetch while the row `rowIvs` (of rows `rowSizes`)
/// is normalised: the row `distance` on along the innermost row dim,
/// clamped to the last; none when not prefetching (`prefetch` off, a
/// residual, no row dims or scalar code).
SmallVector<Value> createPrefetchRowIndices(OpBuilder &b, Location loc,
                                            bool prefetch, bool hasResidual,
                                            int64_t lanes, ValueRange rowIvs,
                                            ArrayRef<OpFoldResult> rowSizes,
                                            int64_t distance = 1);

/// Prefetches, for one vector step of `lanes` lanes at `normIvs`, the same
/// elements of `input`'s row `prefetchRowIvs`: one prefetch per cache line
/// the step covers, with `locality` (clamped to 3).
void emitRowPrefetches(OpBuilder &b, Location loc, Value input,
                       ValueRange prefetchRowIvs, ValueRange normIvs,
                       int64_t lanes, unsigned locality);

/// f32 -> bf16 of the vector `y`, round to nearest even (NaN stays a quiet
/// NaN), as integer operations: LLVM drops the non-temporal hint of a store
/// fed by x86's native bf16 conversion.
Value roundToBF16Bits(OpBuilder &b, Location loc, Value y);

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOAFFINE_MEMORYPOLICY_H
