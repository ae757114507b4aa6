//===- RowReductions.h - Sums across the threads of a row -------*- C++ -*-===//
//
// The reductions of the GPU kernels, which know nothing of what is summed:
// over the vectors a thread holds (in order within a vector, pairwise
// across vectors), within a warp by a butterfly
// of `gpu.shuffle xor` and adds, and across the W warps of a row through
// workgroup memory and one barrier: lane l of every warp reads warp
// l mod W's part (W rounded up to a power of two, the spare lanes taking
// the identity), and a butterfly over W lanes combines them (one load and
// log2 W shuffles a thread, where reading every warp's part takes W loads).
// Additions are commutative bit for bit, so both partners of a butterfly
// step, and so every thread of a row, get the same bits.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_CONVERSION_NORMTOGPU_ROWREDUCTIONS_H
#define NORM_LIB_CONVERSION_NORMTOGPU_ROWREDUCTIONS_H

#include "KernelPlan.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace norm {

/// Runs `body` with `b` inserting under `cond` (an `scf.if`), or
/// unconditionally when `cond` is null.
void emitIf(OpBuilder &b, Location loc, Value cond, function_ref<void()> body);

/// Sums of compute-type scalars over the threads of a row group, as `plan`
/// lays them out. The thread's place (`laneInWarp`, `warpInRow` when a row
/// spans warps, `rowGroup`) and the workgroup buffer `sharedStats` (when a
/// row spans warps) are set by the kernel once it has computed them.
class RowReducer {
public:
  RowReducer(OpBuilder &b, Location loc, const KernelPlan &plan,
             Type computeType)
      : b(b), loc(loc), plan(plan), computeType(computeType) {}

  /// Places the thread in `launch` as the plan lays it out: sets
  /// laneInWarp, warpInRow, rowGroup and sharedStats (the launch's first
  /// workgroup buffer, if any). Returns the thread's index in its row group
  /// and the row group's index in the grid (block * R + group).
  std::pair<Value, Value> placeThread(gpu::LaunchOp launch);

  /// Pairwise sum of `values`.
  Value sumTree(ArrayRef<Value> values);
  /// Sum over the elements of `vectors` whose `valid` flag holds (null:
  /// always) of `term(element)`.
  Value sumHeld(ArrayRef<SmallVector<Value>> vectors, ArrayRef<Value> valid,
                function_ref<Value(Value)> term);
  /// As sumHeld, for `terms` giving one or more values per element: the sum
  /// of each.
  SmallVector<Value>
  sumHeldTerms(ArrayRef<SmallVector<Value>> vectors, ArrayRef<Value> valid,
               function_ref<SmallVector<Value>(Value)> terms);
  /// Sum of `value` over the lanes of the warp that hold the row (a
  /// butterfly of shuffles; the same bits in every lane). A constant is the
  /// same in every lane and is multiplied instead.
  Value sumAcrossLanes(Value value);
  /// Lane 0 of each warp stores `fields` in workgroup region `region`; after
  /// a barrier, returns the fields of warp l mod W' of the row, l this
  /// thread's lane and W' its W warps rounded up to a power of two, or
  /// `identity` when there is no such warp (constant fields are not
  /// exchanged).
  SmallVector<Value> exchangeAcrossWarps(ArrayRef<Value> fields, int64_t region,
                                         double identity);
  /// The parts exchangeAcrossWarps returned, one per warp in each run of W'
  /// lanes, combined by a butterfly of shuffles over W' lanes.
  Value combineAcrossWarps(Value part,
                           function_ref<Value(Value, Value)> combine);
  /// Sums of `values` over all threads of the row (one exchange for all),
  /// in an order that gives every thread the same bits.
  SmallVector<Value> sumAcrossRow(ArrayRef<Value> values, int64_t region);
  /// The largest of `value` over all threads of the row (`maximumf`, so NaN
  /// if any is NaN; exact, so every thread gets the same bits), through
  /// workgroup region `region` when the row spans warps.
  Value maxAcrossRow(Value value, int64_t region);
  /// The largest of `value` over each aligned run of `lanes` lanes (a power
  /// of two up to a warp), by a butterfly of shuffles.
  Value maxAcrossLanes(Value value, int64_t lanes);

  Value laneInWarp, warpInRow, rowGroup, sharedStats;

private:
  Value index(int64_t value);
  Value constant(double value);
  Value add(Value lhs, Value rhs);
  /// `value` combined with `combine` over the lanes of the warp that hold
  /// the row (or over each aligned run of `lanes` lanes), by a butterfly of
  /// shuffles.
  Value combineAcrossLanes(Value value,
                           function_ref<Value(Value, Value)> combine,
                           int64_t lanes = 0);

  OpBuilder &b;
  Location loc;
  const KernelPlan &plan;
  Type computeType;
};

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOGPU_ROWREDUCTIONS_H
