//===- RowReductions.cpp - Sums across the threads of a row ---------------===//

#include "RowReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"

#include <limits>

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
  // A sum of products (the squares) may become fused multiply-adds.
  return arith::AddFOp::create(b, loc, lhs, rhs,
                               arith::FastMathFlags::contract);
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
      // In order within a vector: a chain of squares becomes a chain of
      // fused multiply-adds, one instruction a term.
      Value sum = termValues.front();
      for (Value term : ArrayRef(termValues).drop_front())
        sum = add(sum, term);
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
  // The thread's place is computed in 32 bits (a block has at most 1024
  // threads), where NVPTX would otherwise do it in 64: the index type's
  // width, and twice the instructions.
  Type i32 = b.getI32Type();
  auto narrow = [&](Value value) -> Value {
    return arith::IndexCastUIOp::create(b, loc, i32, value);
  };
  auto widen = [&](Value value) -> Value {
    return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), value);
  };
  auto constant32 = [&](int64_t value) -> Value {
    return arith::ConstantIntOp::create(b, loc, i32, value);
  };
  Value threadId = narrow(launch.getThreadIds().x);
  Value blockId = launch.getBlockIds().x;
  int64_t threads = plan.threadsPerRow;
  int64_t rows = plan.rowsPerBlock;
  Value threadInRow = threadId;
  Value group = blockId;
  rowGroup = index(0);
  if (rows > 1) {
    rowGroup =
        widen(arith::DivUIOp::create(b, loc, threadId, constant32(threads)));
    threadInRow = arith::RemUIOp::create(b, loc, threadId, constant32(threads));
    group = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, blockId, index(rows)), rowGroup);
  }
  laneInWarp =
      widen(arith::RemUIOp::create(b, loc, threadId, constant32(kWarpSize)));
  if (threads > kWarpSize)
    warpInRow = widen(
        arith::DivUIOp::create(b, loc, threadInRow, constant32(kWarpSize)));
  if (!launch.getWorkgroupAttributions().empty())
    sharedStats = launch.getWorkgroupAttributions().front();
  return {rows > 1 ? widen(threadInRow) : launch.getThreadIds().x, group};
}

Value RowReducer::sumAcrossLanes(Value value) {
  int64_t lanes = std::min(plan.threadsPerRow, kWarpSize);
  if (matchPattern(value, m_Constant()))
    return b.createOrFold<arith::MulFOp>(loc, value, constant(lanes));
  // a + b == b + a bit for bit, so both partners of each step agree.
  return combineAcrossLanes(
      value, [&](Value lhs, Value rhs) { return add(lhs, rhs); });
}

Value RowReducer::combineAcrossLanes(Value value,
                                     function_ref<Value(Value, Value)> combine,
                                     int64_t lanes) {
  if (!lanes)
    lanes = std::min(plan.threadsPerRow, kWarpSize);
  for (int64_t offset = lanes / 2; offset >= 1; offset /= 2) {
    Value partner = gpu::ShuffleOp::create(b, loc, value, offset, kWarpSize,
                                           gpu::ShuffleMode::XOR)
                        .getShuffleResult();
    value = combine(value, partner);
  }
  return value;
}

Value RowReducer::maxAcrossLanes(Value value, int64_t lanes) {
  return combineAcrossLanes(
      value,
      [&](Value lhs, Value rhs) -> Value {
        return arith::MaximumFOp::create(b, loc, lhs, rhs);
      },
      lanes);
}

Value RowReducer::maxAcrossRow(Value value, int64_t region) {
  auto max = [&](Value lhs, Value rhs) -> Value {
    return arith::MaximumFOp::create(b, loc, lhs, rhs);
  };
  value = combineAcrossLanes(value, max);
  if (plan.getWarpsPerRow() == 1)
    return value;
  double lowest = -std::numeric_limits<double>::infinity();
  return combineAcrossWarps(
      exchangeAcrossWarps({value}, region, lowest).front(), max);
}

SmallVector<Value> RowReducer::exchangeAcrossWarps(ArrayRef<Value> fields,
                                                   int64_t region,
                                                   double identity) {
  // Workgroup memory: per region, kSharedFields words per warp of each row
  // group of the block. A constant field (the same in every warp) is not
  // exchanged.
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
  auto isExchanged = [](Value value) {
    return !matchPattern(value, m_Constant());
  };
  Value isLeader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         laneInWarp, index(0));
  emitIf(b, loc, isLeader, [&] {
    for (auto [i, value] : llvm::enumerate(fields))
      if (isExchanged(value))
        memref::StoreOp::create(b, loc, value, sharedStats,
                                ValueRange{slotOf(warpInRow, i)});
  });
  gpu::BarrierOp::create(b, loc);
  // Lane l reads warp l mod W' (W' = W rounded up to a power of two, the
  // butterfly's width): a warp's lanes hold every warp's part, and lanes
  // past the last warp the identity.
  int64_t width = llvm::PowerOf2Ceil(warps);
  Value warp = arith::RemUIOp::create(b, loc, laneInWarp, index(width));
  Value isWarp;
  if (width != warps) {
    isWarp = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, warp,
                                   index(warps));
    warp = arith::MinUIOp::create(b, loc, warp, index(warps - 1));
  }
  SmallVector<Value> part;
  for (auto [i, value] : llvm::enumerate(fields)) {
    if (!isExchanged(value)) {
      part.push_back(value);
      continue;
    }
    Value loaded = memref::LoadOp::create(b, loc, sharedStats,
                                          ValueRange{slotOf(warp, i)});
    if (isWarp)
      loaded =
          arith::SelectOp::create(b, loc, isWarp, loaded, constant(identity));
    part.push_back(loaded);
  }
  return part;
}

Value RowReducer::combineAcrossWarps(
    Value part, function_ref<Value(Value, Value)> combine) {
  return combineAcrossLanes(part, combine,
                            llvm::PowerOf2Ceil(plan.getWarpsPerRow()));
}

SmallVector<Value> RowReducer::sumAcrossRow(ArrayRef<Value> values,
                                            int64_t region) {
  SmallVector<Value> sums;
  for (Value value : values)
    sums.push_back(sumAcrossLanes(value));
  if (plan.getWarpsPerRow() == 1)
    return sums;
  SmallVector<Value> parts = exchangeAcrossWarps(sums, region, 0.0);
  for (auto [sum, part] : llvm::zip_equal(sums, parts))
    sum = combineAcrossWarps(
        part, [&](Value lhs, Value rhs) { return add(lhs, rhs); });
  return sums;
}
