//===- RowSweeps.cpp - Vector sweeps over the rows of memrefs -------------===//

#include "RowSweeps.h"

#include "MemoryPolicy.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

using namespace mlir;
using namespace mlir::norm;

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

SmallVector<Value> RowSweeps::emitFor(OpBuilder &builder, OpFoldResult size,
                                      AffineExpr lb, AffineExpr ub,
                                      int64_t step, ValueRange args,
                                      LoopBody body) {
  MLIRContext *ctx = builder.getContext();
  SmallVector<Value> operands;
  unsigned numSymbols = 1;
  if (std::optional<int64_t> constant = getConstantIntValue(size)) {
    AffineExpr c = getAffineConstantExpr(*constant, ctx);
    lb = simplifyAffineExpr(lb.replaceSymbols({c}), 0, 0);
    ub = simplifyAffineExpr(ub.replaceSymbols({c}), 0, 0);
    numSymbols = 0;
    auto lbConst = dyn_cast<AffineConstantExpr>(lb);
    auto ubConst = dyn_cast<AffineConstantExpr>(ub);
    if (lbConst && ubConst && lbConst.getValue() >= ubConst.getValue())
      return SmallVector<Value>(args);
  } else {
    operands.push_back(cast<Value>(size));
  }
  // A bound that does not use the size takes no operand.
  auto boundMap = [&](AffineExpr expr, SmallVector<Value> &mapOperands) {
    bool usesSize = numSymbols && expr.isFunctionOfSymbol(0);
    mapOperands = usesSize ? operands : SmallVector<Value>();
    return AffineMap::get(0, usesSize ? 1 : 0, expr);
  };
  SmallVector<Value> lbOperands, ubOperands;
  AffineMap lbMap = boundMap(lb, lbOperands);
  AffineMap ubMap = boundMap(ub, ubOperands);

  if (useAffine) {
    auto loop = affine::AffineForOp::create(
        builder, loc, lbOperands, lbMap, ubOperands, ubMap, step, args,
        [&](OpBuilder &nested, Location, Value iv, ValueRange iterArgs) {
          affine::AffineYieldOp::create(nested, loc,
                                        body(nested, iv, iterArgs));
        });
    return SmallVector<Value>(loop.getResults());
  }
  Value lbValue =
      affine::AffineApplyOp::create(builder, loc, lbMap, lbOperands);
  Value ubValue =
      affine::AffineApplyOp::create(builder, loc, ubMap, ubOperands);
  Value stepValue = arith::ConstantIndexOp::create(builder, loc, step);
  auto loop = scf::ForOp::create(
      builder, loc, lbValue, ubValue, stepValue, args,
      [&](OpBuilder &nested, Location, Value iv, ValueRange iterArgs) {
        scf::YieldOp::create(nested, loc, body(nested, iv, iterArgs));
      });
  return SmallVector<Value>(loop.getResults());
}

void RowSweeps::emitRowLoops(OpBuilder &b, OpFoldResult parallelIf,
                             function_ref<void(OpBuilder &, ValueRange)> body) {
  if (rowSizes.empty()) {
    body(b, {});
    return;
  }
  if (auto condition = dyn_cast<Value>(parallelIf)) {
    scf::IfOp::create(
        b, loc, condition,
        [&](OpBuilder &nb, Location) {
          emitRowLoops(nb, nb.getBoolAttr(true), body);
          scf::YieldOp::create(nb, loc);
        },
        [&](OpBuilder &nb, Location) {
          emitRowLoops(nb, nb.getBoolAttr(false), body);
          scf::YieldOp::create(nb, loc);
        });
    return;
  }
  bool parallel = cast<BoolAttr>(cast<Attribute>(parallelIf)).getValue();
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> dynamicSizes;
  for (OpFoldResult size : rowSizes)
    if (auto value = dyn_cast<Value>(size))
      dynamicSizes.push_back(value);

  if (parallel && useAffine) {
    // One affine.parallel over every row dim; each bound map takes all the
    // dynamic sizes as symbols.
    unsigned numSymbols = dynamicSizes.size();
    SmallVector<AffineMap> lbMaps, ubMaps;
    unsigned nextSymbol = 0;
    for (OpFoldResult size : rowSizes) {
      lbMaps.push_back(
          AffineMap::get(0, numSymbols, getAffineConstantExpr(0, ctx)));
      AffineExpr ub =
          isa<Value>(size)
              ? getAffineSymbolExpr(nextSymbol++, ctx)
              : getAffineConstantExpr(*getConstantIntValue(size), ctx);
      ubMaps.push_back(AffineMap::get(0, numSymbols, ub));
    }
    SmallVector<int64_t> steps(rowSizes.size(), 1);
    auto loop = affine::AffineParallelOp::create(
        b, loc, TypeRange(), ArrayRef<arith::AtomicRMWKind>(), lbMaps,
        dynamicSizes, ubMaps, dynamicSizes, steps);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(b, loop.getIVs());
    return;
  }
  if (parallel) {
    SmallVector<Value> lbs, ubs, steps;
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    for (OpFoldResult size : rowSizes) {
      lbs.push_back(zero);
      ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
      steps.push_back(one);
    }
    scf::ParallelOp::create(b, loc, lbs, ubs, steps,
                            [&](OpBuilder &nested, Location, ValueRange ivs) {
                              body(nested, ivs);
                            });
    return;
  }
  // Sequential rows: a nest of loops.
  SmallVector<Value> ivs;
  std::function<void(OpBuilder &, unsigned)> nest = [&](OpBuilder &builder,
                                                        unsigned dim) {
    if (dim == rowSizes.size()) {
      body(builder, ivs);
      return;
    }
    AffineExpr s0 = getAffineSymbolExpr(0, ctx);
    emitFor(builder, rowSizes[dim], getAffineConstantExpr(0, ctx), s0, 1, {},
            [&](OpBuilder &nested, Value iv, ValueRange) {
              ivs.push_back(iv);
              nest(nested, dim + 1);
              ivs.pop_back();
              return SmallVector<Value>();
            });
  };
  nest(b, 0);
}

SmallVector<SmallVector<Value>> RowSweeps::sweep(OpBuilder &builder,
                                                 ValueRange init,
                                                 unsigned copies,
                                                 VectorStep step) {
  SmallVector<SmallVector<Value>> state(copies, SmallVector<Value>(init));
  if (normSizes.size() == 1)
    return sweepInnermost(builder, {}, state, step);

  // Non-contiguous normalised dims: one loop per outer normalised dim, the
  // state of every copy carried through them.
  MLIRContext *ctx = builder.getContext();
  size_t stateSize = init.size();
  SmallVector<Value> indices;
  std::function<SmallVector<SmallVector<Value>>(
      OpBuilder &, unsigned, SmallVector<SmallVector<Value>>)>
      nest = [&](OpBuilder &nb, unsigned dim,
                 SmallVector<SmallVector<Value>> current)
      -> SmallVector<SmallVector<Value>> {
    if (dim + 1 == normSizes.size())
      return sweepInnermost(nb, indices, current, step);
    SmallVector<Value> flat;
    for (auto &copy : current)
      flat.append(copy);
    AffineExpr s0 = getAffineSymbolExpr(0, ctx);
    SmallVector<Value> results =
        emitFor(nb, normSizes[dim], getAffineConstantExpr(0, ctx), s0, 1, flat,
                [&](OpBuilder &inner, Value iv, ValueRange args) {
                  SmallVector<SmallVector<Value>> unflat;
                  for (unsigned c = 0; c < copies; ++c)
                    unflat.emplace_back(args.slice(c * stateSize, stateSize));
                  indices.push_back(iv);
                  SmallVector<SmallVector<Value>> next =
                      nest(inner, dim + 1, unflat);
                  indices.pop_back();
                  SmallVector<Value> yielded;
                  for (auto &copy : next)
                    yielded.append(copy);
                  return yielded;
                });
    SmallVector<SmallVector<Value>> out;
    for (unsigned c = 0; c < copies; ++c)
      out.emplace_back(
          ArrayRef<Value>(results).slice(c * stateSize, stateSize));
    return out;
  };
  return nest(builder, 0, state);
}

SmallVector<SmallVector<Value>>
RowSweeps::sweepInnermost(OpBuilder &builder, SmallVector<Value> outerIndices,
                          SmallVector<SmallVector<Value>> state,
                          VectorStep step) {
  MLIRContext *ctx = builder.getContext();
  unsigned copies = state.size();
  size_t stateSize = state.front().size();
  OpFoldResult size = normSizes.back();
  AffineExpr s0 = getAffineSymbolExpr(0, ctx);
  int64_t block = lanes * copies;
  auto withIndex = [&](Value iv) {
    SmallVector<Value> indices(outerIndices);
    indices.push_back(iv);
    return indices;
  };

  // Main loop: `copies` vectors per iteration, one per copy of the state.
  SmallVector<Value> flat;
  for (auto &copy : state)
    flat.append(copy);
  AffineExpr mainEnd = s0.floorDiv(block) * block;
  SmallVector<Value> results =
      emitFor(builder, size, getAffineConstantExpr(0, ctx), mainEnd, block,
              flat, [&](OpBuilder &nb, Value iv, ValueRange args) {
                SmallVector<Value> yielded;
                for (unsigned c = 0; c < copies; ++c) {
                  Value index = iv;
                  if (c)
                    index = affine::AffineApplyOp::create(
                        nb, loc, getAffineDimExpr(0, ctx) + c * lanes, iv);
                  yielded.append(step(nb, withIndex(index), Value(),
                                      args.slice(c * stateSize, stateSize)));
                }
                return yielded;
              });
  for (unsigned c = 0; c < copies; ++c)
    state[c].assign(results.begin() + c * stateSize,
                    results.begin() + (c + 1) * stateSize);

  // Remaining whole vectors, into the first copy.
  AffineExpr vectorEnd = s0.floorDiv(lanes) * lanes;
  if (copies > 1)
    state[0] = emitFor(builder, size, mainEnd, vectorEnd, lanes, state[0],
                       [&](OpBuilder &nb, Value iv, ValueRange args) {
                         return step(nb, withIndex(iv), Value(), args);
                       });

  // The last, partial vector.
  if (lanes == 1)
    return state;
  auto emitTail = [&](OpBuilder &nb, Value start, Value count,
                      ValueRange args) {
    Value mask = vector::CreateMaskOp::create(
        nb, loc, VectorType::get({lanes}, nb.getI1Type()), ValueRange{count});
    return step(nb, withIndex(start), mask, args);
  };
  if (std::optional<int64_t> n = getConstantIntValue(size)) {
    int64_t remainder = *n % lanes;
    if (remainder == 0)
      return state;
    Value start = arith::ConstantIndexOp::create(builder, loc, *n - remainder);
    Value count = arith::ConstantIndexOp::create(builder, loc, remainder);
    state[0] = emitTail(builder, start, count, state[0]);
    return state;
  }
  Value dynamicSize = cast<Value>(size);
  Value start = affine::AffineApplyOp::create(
      builder, loc, AffineMap::get(0, 1, vectorEnd), dynamicSize);
  Value count = affine::AffineApplyOp::create(
      builder, loc, AffineMap::get(0, 1, s0 % lanes), dynamicSize);
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  Value hasTail = arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::ne,
                                        count, zero);
  SmallVector<Value> current = state[0];
  auto ifOp = scf::IfOp::create(
      builder, loc, hasTail,
      [&](OpBuilder &nb, Location) {
        scf::YieldOp::create(nb, loc, emitTail(nb, start, count, current));
      },
      [&](OpBuilder &nb, Location) { scf::YieldOp::create(nb, loc, current); });
  state[0].assign(ifOp.getResults().begin(), ifOp.getResults().end());
  return state;
}

void RowSweeps::sweepAligned(OpBuilder &builder, Value rowAddress,
                             int64_t elementBytes, AlignedStep step) {
  MLIRContext *ctx = builder.getContext();
  int64_t alignment = std::min(kCacheLineBytes, lanes * elementBytes);
  AffineExpr d0 = getAffineDimExpr(0, ctx);

  // head = elements before the first aligned one (at most the row), body =
  // the whole vectors after it, then a partial vector.
  Value n = getValueOrCreateConstantIndexOp(builder, loc, normSizes.back());
  Value misalignment = affine::AffineApplyOp::create(
      builder, loc,
      AffineMap::get(
          1, 0,
          ((alignment - d0 % alignment) % alignment).floorDiv(elementBytes)),
      rowAddress);
  Value head = arith::MinUIOp::create(builder, loc, misalignment, n);
  Value bodyEnd = affine::AffineApplyOp::create(
      builder, loc,
      AffineMap::get(
          2, 0, d0 + (getAffineDimExpr(1, ctx) - d0).floorDiv(lanes) * lanes),
      ValueRange{head, n});
  Value tail = arith::SubIOp::create(builder, loc, n, bodyEnd);
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  VectorType maskType = VectorType::get({lanes}, builder.getI1Type());

  auto maskedStep = [&](OpBuilder &nb, Value start, Value count) {
    Value positive =
        arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ne, count, zero);
    scf::IfOp::create(nb, loc, positive, [&](OpBuilder &inner, Location) {
      Value mask =
          vector::CreateMaskOp::create(inner, loc, maskType, ValueRange{count});
      step(inner, start, mask, /*nontemporal=*/false);
      scf::YieldOp::create(inner, loc);
    });
  };
  maskedStep(builder, zero, head);
  Value lanesValue = arith::ConstantIndexOp::create(builder, loc, lanes);
  scf::ForOp::create(builder, loc, head, bodyEnd, lanesValue, ValueRange(),
                     [&](OpBuilder &nb, Location, Value iv, ValueRange) {
                       step(nb, iv, Value(), /*nontemporal=*/true);
                       scf::YieldOp::create(nb, loc);
                     });
  maskedStep(builder, bodyEnd, tail);
}

//===----------------------------------------------------------------------===//
// Vector accesses and reductions
//===----------------------------------------------------------------------===//

Value RowSweeps::load(OpBuilder &builder, Value buffer, ValueRange indices,
                      Value mask, int64_t numLanes) {
  if (!numLanes)
    numLanes = lanes;
  Type elementType = cast<MemRefType>(buffer.getType()).getElementType();
  auto type = VectorType::get({numLanes}, elementType);
  if (lanes == 1) {
    Value scalar = memref::LoadOp::create(builder, loc, buffer, indices);
    return vector::BroadcastOp::create(builder, loc, type, scalar);
  }
  if (!mask)
    return vector::LoadOp::create(builder, loc, type, buffer, indices);
  Value zero =
      arith::ConstantOp::create(builder, loc, type, builder.getZeroAttr(type));
  return vector::MaskedLoadOp::create(builder, loc, type, buffer, indices, mask,
                                      zero);
}

void RowSweeps::store(OpBuilder &builder, Value value, Value buffer,
                      ValueRange indices, Value mask, bool nontemporal) {
  if (lanes == 1) {
    Value scalar =
        vector::ExtractOp::create(builder, loc, value, ArrayRef<int64_t>{0});
    memref::StoreOp::create(builder, loc, scalar, buffer, indices);
    return;
  }
  if (mask) {
    // A tail of a statically known length is stored as a shorter vector,
    // not through a constant mask: LLVM 22's x86 back end turns a masked
    // store with one active lane, of values truncated from wider lanes
    // (e.g. f64 -> i8), into a store of the whole wide lane, writing past
    // the row's end.
    auto createMask = mask.getDefiningOp<vector::CreateMaskOp>();
    std::optional<int64_t> count =
        createMask && createMask->getNumOperands() == 1
            ? getConstantIntValue(createMask->getOperand(0))
            : std::nullopt;
    if (!count) {
      vector::MaskedStoreOp::create(builder, loc, buffer, indices, mask, value);
      return;
    }
    if (*count <= 0)
      return;
    if (*count < lanes)
      value = vector::ExtractStridedSliceOp::create(builder, loc, value,
                                                    /*offsets=*/{0},
                                                    /*sizes=*/{*count},
                                                    /*strides=*/{1});
    vector::StoreOp::create(builder, loc, value, buffer, indices);
    return;
  }
  if (!nontemporal) {
    vector::StoreOp::create(builder, loc, value, buffer, indices);
    return;
  }
  // Aligned to the vector, or to a cache line for vectors of several lines
  // (the backend stores those a register at a time).
  int64_t bytes = std::min<int64_t>(
      kCacheLineBytes,
      lanes * cast<VectorType>(value.getType()).getElementTypeBitWidth() / 8);
  vector::StoreOp::create(builder, loc, value, buffer, indices,
                          /*nontemporal=*/true, llvm::MaybeAlign(bytes));
}

Value RowSweeps::zeroMasked(OpBuilder &builder, Value value, Value mask) {
  if (!mask)
    return value;
  Value zero = arith::ConstantOp::create(builder, loc, value.getType(),
                                         builder.getZeroAttr(value.getType()));
  return arith::SelectOp::create(builder, loc, mask, value, zero);
}

Value RowSweeps::reduceSum(OpBuilder &builder,
                           ArrayRef<SmallVector<Value>> copies,
                           unsigned index) {
  return reduce(builder, copies, index, vector::CombiningKind::ADD);
}

Value RowSweeps::reduceMax(OpBuilder &builder,
                           ArrayRef<SmallVector<Value>> copies,
                           unsigned index) {
  return reduce(builder, copies, index, vector::CombiningKind::MAXIMUMF);
}

Value RowSweeps::reduce(OpBuilder &builder, ArrayRef<SmallVector<Value>> copies,
                        unsigned index, vector::CombiningKind kind) {
  // Pairwise, so the copies' partial results stay independent as long as
  // possible.
  SmallVector<Value> partial;
  for (const SmallVector<Value> &copy : copies)
    partial.push_back(copy[index]);
  while (partial.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < partial.size(); i += 2)
      next.push_back(vector::makeArithReduction(builder, loc, kind, partial[i],
                                                partial[i + 1]));
    if (partial.size() % 2)
      next.push_back(partial.back());
    partial = std::move(next);
  }
  return vector::ReductionOp::create(builder, loc, kind, partial.front(),
                                     arith::FastMathFlags::reassoc);
}
