//===- RowReductions.cpp - Sums across the threads of a row ---------------===//

#include "RowReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::norm;

void mlir::norm::emitIf(OpBuilder &b, Location loc, Value cond,
                        function_ref<void()> body) {
  if (!cond)
    return body();
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

Value RowReducer::index(int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value RowReducer::constant(double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(computeType, value));
}

Value RowReducer::add(Value lhs, Value rhs) {
  return arith::AddFOp::create(b, loc, lhs, rhs);
}

Value RowReducer::sumTree(ArrayRef<Value> values) {
  SmallVector<Value> level(values);
  while (level.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2)
      next.push_back(add(level[i], level[i + 1]));
    if (level.size() % 2)
      next.push_back(level.back());
    level = std::move(next);
  }
  return level.front();
}
Value RowReducer::sumHeld(ArrayRef<SmallVector<Value>> vectors,
                          ArrayRef<Value> valid,
                          function_ref<Value(Value)> term) {
  return sumHeldTerms(
             vectors, valid,
             [&](Value value) -> SmallVector<Value> { return {term(value)}; })
      .front();
}

SmallVector<Value>
RowReducer::sumHeldTerms(ArrayRef<SmallVector<Value>> vectors,
                         ArrayRef<Value> valid,
                         function_ref<SmallVector<Value>(Value)> terms) {
  // sums[i]: the per-vector sums of term i.
  SmallVector<SmallVector<Value>> sums;
  for (auto [h, cond] : llvm::zip_equal(vectors, valid)) {
    SmallVector<SmallVector<Value>> perTerm;
    for (Value value : h) {
      SmallVector<Value> values = terms(value);
      perTerm.resize(values.size());
      for (auto [list, term] : llvm::zip_equal(perTerm, values))
        list.push_back(term);
    }
    sums.resize(perTerm.size());
    for (auto [list, termValues] : llvm::zip_equal(sums, perTerm)) {
      Value sum = sumTree(termValues);
      if (!cond) {
        list.push_back(sum);
        continue;
      }
      Value zero = constant(0.0);
      list.push_back(arith::SelectOp::create(b, loc, cond, sum, zero));
    }
  }
  SmallVector<Value> result;
  for (ArrayRef<Value> list : sums)
    result.push_back(sumTree(list));
  return result;
}

std::pair<Value, Value> RowReducer::placeThread(gpu::LaunchOp launch) {
  Value threadId = launch.getThreadIds().x;
  Value blockId = launch.getBlockIds().x;
  int64_t threads = plan.threadsPerRow;
  int64_t rows = plan.rowsPerBlock;
  Value threadInRow = threadId;
  Value group = blockId;
  rowGroup = index(0);
  if (rows > 1) {
    rowGroup = arith::DivUIOp::create(b, loc, threadId, index(threads));
    threadInRow = arith::RemUIOp::create(b, loc, threadId, index(threads));
    group = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, blockId, index(rows)), rowGroup);
  }
  laneInWarp = arith::RemUIOp::create(b, loc, threadId, index(kWarpSize));
  if (threads > kWarpSize)
    warpInRow = arith::DivUIOp::create(b, loc, threadInRow, index(kWarpSize));
  if (!launch.getWorkgroupAttributions().empty())
    sharedStats = launch.getWorkgroupAttributions().front();
  return {threadInRow, group};
}

Value RowReducer::sumAcrossLanes(Value value) {
  int64_t lanes = std::min(plan.threadsPerRow, kWarpSize);
  if (matchPattern(value, m_Constant()))
    return b.createOrFold<arith::MulFOp>(loc, value, constant(lanes));
  // a + b == b + a bit for bit, so both partners of each step agree.
  return combineAcrossLanes(
      value, [&](Value lhs, Value rhs) { return add(lhs, rhs); });
}

Value RowReducer::combineAcrossLanes(
    Value value, function_ref<Value(Value, Value)> combine) {
  int64_t lanes = std::min(plan.threadsPerRow, kWarpSize);
  for (int64_t offset = lanes / 2; offset >= 1; offset /= 2) {
    Value partner = gpu::ShuffleOp::create(b, loc, value, offset, kWarpSize,
                                           gpu::ShuffleMode::XOR)
                        .getShuffleResult();
    value = combine(value, partner);
  }
  return value;
}

Value RowReducer::maxAcrossRow(Value value, int64_t region) {
  auto max = [&](Value lhs, Value rhs) -> Value {
    return arith::MaximumFOp::create(b, loc, lhs, rhs);
  };
  value = combineAcrossLanes(value, max);
  if (plan.getWarpsPerRow() == 1)
    return value;
  SmallVector<SmallVector<Value>> parts = exchangeAcrossWarps({value}, region);
  value = parts.front().front();
  for (ArrayRef<Value> part : ArrayRef(parts).drop_front())
    value = max(value, part.front());
  return value;
}

SmallVector<SmallVector<Value>>
RowReducer::exchangeAcrossWarps(ArrayRef<Value> fields, int64_t region) {
  // Workgroup memory: per region, kSharedFields words per warp of each row
  // group of the block.
  int64_t warps = plan.getWarpsPerRow();
  int64_t regionBase = region * plan.rowsPerBlock * warps * kSharedFields;
  Value regionStart = index(regionBase);
  Value rowOffset =
      arith::MulIOp::create(b, loc, rowGroup, index(warps * kSharedFields));
  Value rowBase = arith::AddIOp::create(b, loc, regionStart, rowOffset);
  auto slotOf = [&](Value warp, int64_t field) -> Value {
    Value base = arith::AddIOp::create(
        b, loc, rowBase,
        arith::MulIOp::create(b, loc, warp, index(kSharedFields)));
    return arith::AddIOp::create(b, loc, base, index(field));
  };
  Value isLeader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         laneInWarp, index(0));
  emitIf(b, loc, isLeader, [&] {
    for (auto [i, value] : llvm::enumerate(fields))
      memref::StoreOp::create(b, loc, value, sharedStats,
                              ValueRange{slotOf(warpInRow, i)});
  });
  gpu::BarrierOp::create(b, loc);
  SmallVector<SmallVector<Value>> parts;
  for (int64_t w = 0; w < warps; ++w) {
    SmallVector<Value> &part = parts.emplace_back();
    for (size_t i = 0; i < fields.size(); ++i)
      part.push_back(memref::LoadOp::create(b, loc, sharedStats,
                                            ValueRange{slotOf(index(w), i)}));
  }
  return parts;
}

SmallVector<Value> RowReducer::sumAcrossRow(ArrayRef<Value> values,
                                            int64_t region) {
  SmallVector<Value> sums;
  for (Value value : values)
    sums.push_back(sumAcrossLanes(value));
  if (plan.getWarpsPerRow() == 1)
    return sums;
  SmallVector<SmallVector<Value>> parts = exchangeAcrossWarps(sums, region);
  sums = parts.front();
  for (ArrayRef<Value> part : ArrayRef(parts).drop_front())
    for (auto [sum, value] : llvm::zip_equal(sums, part))
      sum = add(sum, value);
  return sums;
}
