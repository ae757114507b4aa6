//===- NormToAffine.cpp - Lower norm ops to vectorised affine loops -------===//
//
// Lowers `norm.layer_norm` and `norm.rms_norm` on memrefs to a loop over the
// rows whose body is straight vector code, so that each row is read from
// memory once and written once, and everything else happens in registers and
// the L1 cache:
//
//   for each row (affine.parallel):
//     p    = h[0], or 0 if h[0] is not finite               (LayerNorm)
//     s    = sum(h - p)       U vector accumulators        sweep 1
//     mean = p + reduce(s) / N
//     v    = sum(((h - mean) * c)^2)    or  sum((h * c)^2)  sweep 2 (or 1)
//     rstd = 1 / sqrt(reduce(v) + eps), NaN if reduce(v) is +inf
//     out  = (h - mean) * rstd * gamma + beta               last sweep
//
// with `h = round(input + residual)` and `c = 1/sqrt(N)`: the arithmetic of
// the reference decomposition (NormDecomposition.cpp), so that the two agree
// to rounding, including exact results for constant rows. Each sweep walks
// the row in vectors of W lanes, unrolled U times with independent
// accumulators, and finishes with one masked vector when W does not divide
// N. Sweeps after the first find the row in the L1 or L2 cache.
//
// When eps may be tiny (see getTinyRowRescue), a row whose reduce(v) is
// below 2^-100 (f32) takes one more sweep, v' = sum(((h - mean) * K * c)^2)
// with K = 2^100, and rstd = K / sqrt(reduce(v') + eps K^2): squares of
// elements below ~1e-19 would otherwise be subnormal.
//
//===----------------------------------------------------------------------===//

#include "norm/Conversion/NormToAffine/NormToAffine.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <limits>

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_CONVERTNORMTOAFFINE
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

unsigned mlir::norm::getHostVectorWidth() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 16;
  if (features.lookup("avx"))
    return 8;
  return 4;
}

/// Whether the host, which the code is compiled for, is x86.
static bool isX86Host() {
  return llvm::Triple(llvm::sys::getProcessTriple()).isX86();
}

/// The alignment a non-temporal store of a vector of a cache line or more
/// needs (x86 stores it a register at a time).
static constexpr int64_t kCacheLineBytes = 64;

/// The longest row (in bytes of the input type) whose residual_out is
/// streamed: the later sweeps re-read the input and residual rows, which
/// should still be in L2.
static constexpr int64_t kMaxStreamedRowBytes = 64 * 1024;

namespace {
/// The body of one vector step of a sweep: `indices` address the first lane
/// in the normalised dims, `mask` is null for a full vector and the mask of
/// the valid lanes for the last, partial one; `state` is this copy's
/// loop-carried state, and the step returns its next value.
using VectorStep = function_ref<SmallVector<Value>(
    OpBuilder &b, ValueRange indices, Value mask, ValueRange state)>;

/// A loop body: returns the values it yields.
using LoopBody =
    function_ref<SmallVector<Value>(OpBuilder &b, Value iv, ValueRange args)>;

/// Emits the row loops and sweeps of one norm op on memrefs.
class RowKernelEmitter {
public:
  RowKernelEmitter(OpBuilder &b, NormOpInterface op,
                   const ConvertNormToAffineOptions &options)
      : b(b), op(op), loc(op->getLoc()), options(options),
        rank(op.getInputType().getRank()), axis(op.getNormalizedAxis()),
        inputElementType(op.getInputType().getElementType()),
        computeType(getComputeElementType(inputElementType)) {}

  /// Emits the loops in place of the op (which the caller erases).
  void emit();

private:
  //--- Set-up ---------------------------------------------------------------
  /// Collapses the normalised dims of every full-shaped and parameter buffer
  /// into one where they are contiguous in all of them, and picks the number
  /// of lanes (one when a trailing dim is not unit-stride).
  void prepareViews();
  /// The compute-type constant `value`.
  Value constantFloat(double value);
  Value getEpsilon();
  /// N as a compute-type float.
  Value getRowSizeAsFloat();

  //--- Loops ----------------------------------------------------------------
  /// Emits `for iv = lb(size) to ub(size) step step` carrying `args`, where
  /// `lb` and `ub` are affine functions of the symbol `s0` standing for
  /// `size`; returns the loop results. Nothing is emitted for a statically
  /// empty loop.
  SmallVector<Value> emitFor(OpBuilder &builder, OpFoldResult size,
                             AffineExpr lb, AffineExpr ub, int64_t step,
                             ValueRange args, LoopBody body);
  /// Emits the loops over the rows and calls `body` inside them.
  void emitRowLoops(function_ref<void(OpBuilder &, ValueRange)> body);
  /// Walks the normalised elements of the row `rowIvs` in vectors, threading
  /// `copies` copies of `init` through `step`; returns each copy's final
  /// state.
  SmallVector<SmallVector<Value>> sweep(OpBuilder &builder, ValueRange init,
                                        unsigned copies, VectorStep step);
  SmallVector<SmallVector<Value>>
  sweepInnermost(OpBuilder &builder, SmallVector<Value> outerIndices,
                 SmallVector<SmallVector<Value>> state, VectorStep step);
  /// Walks one contiguous row for the normalise-and-store sweep so that its
  /// whole vectors are aligned for non-temporal stores: a masked vector up
  /// to the first aligned element, the aligned vectors, a masked remainder.
  /// `step` gets the index, the mask (null for an aligned vector) and
  /// whether to store non-temporally.
  void sweepAligned(OpBuilder &builder, ValueRange rowIvs,
                    function_ref<void(OpBuilder &, Value, Value, bool)> step);
  /// The byte address of element (rowIvs, 0...) of the memref `buffer`.
  Value getRowAddress(OpBuilder &builder, Value buffer, ValueRange rowIvs);
  /// Whether the bytes `a` and `b` span may overlap (i1; true for a
  /// negative stride).
  Value mayOverlap(OpBuilder &builder, Value a, Value b);

  //--- Element access -------------------------------------------------------
  VectorType vectorOf(Type elementType) const {
    return VectorType::get({lanes}, elementType);
  }
  /// Loads a vector (of `numLanes`, default `lanes`) from `buffer` at
  /// `indices`; masked-off lanes read as zero.
  Value load(OpBuilder &builder, Value buffer, ValueRange indices, Value mask,
             int64_t numLanes = 0);
  void store(OpBuilder &builder, Value value, Value buffer, ValueRange indices,
             Value mask, bool nontemporal = false);
  /// Converts a float scalar or vector to `elementType` (same shape).
  Value convert(OpBuilder &builder, Value value, Type elementType);
  /// Where `loadRow` finds `h = input (+ residual)`.
  enum class RowSource {
    /// Computes it from the input and the residual.
    Compute,
    /// Computes it and writes the rounded sum to residual_out (the first
    /// sweep).
    ComputeAndWrite,
    /// Reads it back from residual_out when there is one (later sweeps):
    /// one load instead of two, and right even when residual_out aliases
    /// the input or the residual.
    Reuse,
  };
  /// Converts the compute-type output vector `y` to the output element type:
  /// a rounding conversion or, with an out_scale, quantisation to i8 or
  /// f8E4M3FN (the reference decomposition's, lane by lane). For a
  /// non-temporal store, f32 -> bf16 rounds in integer arithmetic (see
  /// `roundToBF16Bits`).
  Value convertOutput(OpBuilder &builder, Value y, Type outputElementType,
                      bool nontemporal = false);
  /// f32 -> bf16, round to nearest even (NaN stays a quiet NaN), as integer
  /// operations: LLVM drops the non-temporal hint of a store fed by x86's
  /// native bf16 conversion.
  Value roundToBF16Bits(OpBuilder &builder, Value y);
  /// Loads `h` in the compute type.
  Value loadRow(OpBuilder &builder, ValueRange rowIvs, ValueRange normIvs,
                Value mask, RowSource source, int64_t numLanes = 0);
  /// `value` with the lanes outside `mask` set to zero.
  Value zeroMasked(OpBuilder &builder, Value value, Value mask);
  /// The sum of all lanes of the `index`th state vector of all `copies`.
  Value reduceSum(OpBuilder &builder, ArrayRef<SmallVector<Value>> copies,
                  unsigned index = 0);
  SmallVector<Value> fullIndices(ValueRange rowIvs, ValueRange normIvs) {
    SmallVector<Value> indices(rowIvs);
    indices.append(normIvs.begin(), normIvs.end());
    return indices;
  }

  /// Emits the computation of one row.
  void emitRow(OpBuilder &builder, ValueRange rowIvs);

  OpBuilder &b;
  NormOpInterface op;
  Location loc;
  const ConvertNormToAffineOptions &options;
  int64_t rank;
  int64_t axis;
  Type inputElementType;
  Type computeType;

  /// Buffers as walked: full-shaped ones are indexed by the row ivs then the
  /// normalised ivs, gamma and beta by the normalised ivs, mean and rstd by
  /// the row ivs. Null when absent.
  Value input, residual, gamma, beta, output, residualOutput, mean, rstd;
  SmallVector<OpFoldResult> rowSizes, normSizes;
  /// Lanes per vector of the compute type (1: scalar code in vector<1x..>).
  int64_t lanes = 1;
  unsigned unroll = 1;
  /// Whether every loop bound is a valid affine symbol.
  bool useAffine = true;
  /// Row-invariant values, in the compute type (outScale null unless the
  /// output is quantised).
  Value rowSize, invSqrtRowSize, epsilon, outScale;
  /// The tiny-row rescue's values (see getTinyRowRescue) when eps may need
  /// it; all null otherwise.
  TinyRowRescueValues rescueValues;
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
  /// Set while emitting the streaming version of a row.
  bool emittingStreamedRow = false;
};
} // namespace

//===----------------------------------------------------------------------===//
// Set-up
//===----------------------------------------------------------------------===//

void RowKernelEmitter::prepareViews() {
  input = op.getInput();
  residual = op.getResidual();
  gamma = op.getGamma();
  beta = op.getBeta();
  output = op.getOutput();
  residualOutput = op.getResidualOutput();
  mean = op.getMean();
  rstd = op.getRstd();

  SmallVector<Value *> fullShaped = {&input, &residual, &output,
                                     &residualOutput};
  SmallVector<Value *> params = {&gamma, &beta};
  auto forEachPresent = [](ArrayRef<Value *> values, auto fn) {
    for (Value *value : values)
      if (*value)
        fn(*value);
  };

  // Collapse [axis, rank) into one dim where every buffer allows it.
  if (rank - axis > 1) {
    SmallVector<ReassociationIndices> fullReassoc, paramReassoc(1);
    for (int64_t d = 0; d < axis; ++d)
      fullReassoc.push_back({d});
    fullReassoc.emplace_back();
    for (int64_t d = axis; d < rank; ++d) {
      fullReassoc.back().push_back(d);
      paramReassoc.front().push_back(d - axis);
    }
    bool collapsible = true;
    forEachPresent(fullShaped, [&](Value v) {
      collapsible &= memref::CollapseShapeOp::isGuaranteedCollapsible(
          cast<MemRefType>(v.getType()), fullReassoc);
    });
    forEachPresent(params, [&](Value v) {
      collapsible &= memref::CollapseShapeOp::isGuaranteedCollapsible(
          cast<MemRefType>(v.getType()), paramReassoc);
    });
    if (collapsible) {
      for (Value *v : fullShaped)
        if (*v)
          *v = memref::CollapseShapeOp::create(b, loc, *v, fullReassoc);
      for (Value *v : params)
        if (*v)
          *v = memref::CollapseShapeOp::create(b, loc, *v, paramReassoc);
    }
  }

  SmallVector<OpFoldResult> sizes = memref::getMixedSizes(b, loc, input);
  int64_t viewAxis = axis;
  rowSizes.assign(sizes.begin(), sizes.begin() + viewAxis);
  normSizes.assign(sizes.begin() + viewAxis, sizes.end());

  // Vector accesses need a unit stride in the trailing dim of every buffer
  // they touch.
  bool unitStride = true;
  forEachPresent(fullShaped, [&](Value v) {
    unitStride &= cast<MemRefType>(v.getType()).isLastDimUnitStride();
  });
  forEachPresent(params, [&](Value v) {
    unitStride &= cast<MemRefType>(v.getType()).isLastDimUnitStride();
  });
  unsigned width =
      options.vectorWidth ? options.vectorWidth : getHostVectorWidth();
  unsigned computeBits = computeType.getIntOrFloatBitWidth();
  lanes = unitStride ? std::max<int64_t>(1, width * 32 / computeBits) : 1;
  unroll = std::max(1u, options.unroll);

  for (OpFoldResult size : llvm::concat<OpFoldResult>(rowSizes, normSizes))
    if (auto value = dyn_cast<Value>(size))
      useAffine &= affine::isValidSymbol(value);
}

Value RowKernelEmitter::constantFloat(double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(computeType, value));
}

Value RowKernelEmitter::getEpsilon() {
  if (Value eps = op.getEpsValue())
    return convert(b, eps, computeType);
  APFloat value = *op.getEpsilon();
  bool losesInfo;
  value.convert(cast<FloatType>(computeType).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &losesInfo);
  return arith::ConstantOp::create(b, loc, FloatAttr::get(computeType, value));
}

Value RowKernelEmitter::getRowSizeAsFloat() {
  std::optional<SmallVector<int64_t>> staticSizes =
      getConstantIntValues(normSizes);
  if (staticSizes) {
    int64_t n = 1;
    for (int64_t size : *staticSizes)
      n *= size;
    return constantFloat(static_cast<double>(n));
  }
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (OpFoldResult size : normSizes)
    n = arith::MulIOp::create(b, loc, n,
                              getValueOrCreateConstantIndexOp(b, loc, size));
  Value n64 = arith::IndexCastUIOp::create(b, loc, b.getI64Type(), n);
  return arith::UIToFPOp::create(b, loc, computeType, n64);
}

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

SmallVector<Value> RowKernelEmitter::emitFor(OpBuilder &builder,
                                             OpFoldResult size, AffineExpr lb,
                                             AffineExpr ub, int64_t step,
                                             ValueRange args, LoopBody body) {
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

void RowKernelEmitter::emitRowLoops(
    function_ref<void(OpBuilder &, ValueRange)> body) {
  if (rowSizes.empty()) {
    body(b, {});
    return;
  }
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> dynamicSizes;
  for (OpFoldResult size : rowSizes)
    if (auto value = dyn_cast<Value>(size))
      dynamicSizes.push_back(value);

  if (options.parallel && useAffine) {
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
    auto parallel = affine::AffineParallelOp::create(
        b, loc, TypeRange(), ArrayRef<arith::AtomicRMWKind>(), lbMaps,
        dynamicSizes, ubMaps, dynamicSizes, steps);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(parallel.getBody());
    body(b, parallel.getIVs());
    return;
  }
  if (options.parallel) {
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

SmallVector<SmallVector<Value>> RowKernelEmitter::sweep(OpBuilder &builder,
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

SmallVector<SmallVector<Value>> RowKernelEmitter::sweepInnermost(
    OpBuilder &builder, SmallVector<Value> outerIndices,
    SmallVector<SmallVector<Value>> state, VectorStep step) {
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

Value RowKernelEmitter::getRowAddress(OpBuilder &builder, Value buffer,
                                      ValueRange rowIvs) {
  auto type = cast<MemRefType>(buffer.getType());
  auto metadata =
      memref::ExtractStridedMetadataOp::create(builder, loc, buffer);
  Value base =
      memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, buffer);
  Value linear = metadata.getOffset();
  for (auto [iv, stride] : llvm::zip(rowIvs, metadata.getStrides()))
    linear = arith::AddIOp::create(
        builder, loc, linear, arith::MulIOp::create(builder, loc, iv, stride));
  return arith::AddIOp::create(
      builder, loc, base,
      arith::MulIOp::create(
          builder, loc, linear,
          arith::ConstantIndexOp::create(builder, loc,
                                         type.getElementTypeBitWidth() / 8)));
}

Value RowKernelEmitter::mayOverlap(OpBuilder &builder, Value a, Value b) {
  // [first, last] byte of each view: base + offset, plus sum((size-1) *
  // stride) elements; a negative stride counts as overlapping.
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  Value one = arith::ConstantIndexOp::create(builder, loc, 1);
  Value negative =
      arith::ConstantOp::create(builder, loc, builder.getBoolAttr(false));
  auto span = [&](Value buffer) -> std::pair<Value, Value> {
    auto type = cast<MemRefType>(buffer.getType());
    Value bytes = arith::ConstantIndexOp::create(
        builder, loc, type.getElementTypeBitWidth() / 8);
    auto metadata =
        memref::ExtractStridedMetadataOp::create(builder, loc, buffer);
    Value base =
        memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, buffer);
    Value extent = zero;
    for (auto [size, stride] :
         llvm::zip(metadata.getSizes(), metadata.getStrides())) {
      negative = arith::OrIOp::create(
          builder, loc, negative,
          arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::slt, stride,
                                zero));
      Value last = arith::SubIOp::create(builder, loc, size, one);
      extent = arith::AddIOp::create(
          builder, loc, extent,
          arith::MulIOp::create(builder, loc, last, stride));
    }
    Value first = arith::AddIOp::create(
        builder, loc, base,
        arith::MulIOp::create(builder, loc, metadata.getOffset(), bytes));
    Value lastByte = arith::AddIOp::create(
        builder, loc, first,
        arith::SubIOp::create(
            builder, loc,
            arith::MulIOp::create(
                builder, loc, arith::AddIOp::create(builder, loc, extent, one),
                bytes),
            one));
    return {first, lastByte};
  };
  auto [aFirst, aLast] = span(a);
  auto [bFirst, bLast] = span(b);
  Value aStartsBeforeBEnds = arith::CmpIOp::create(
      builder, loc, arith::CmpIPredicate::ule, aFirst, bLast);
  Value bStartsBeforeAEnds = arith::CmpIOp::create(
      builder, loc, arith::CmpIPredicate::ule, bFirst, aLast);
  Value overlap = arith::AndIOp::create(builder, loc, aStartsBeforeBEnds,
                                        bStartsBeforeAEnds);
  return arith::OrIOp::create(builder, loc, overlap, negative);
}

void RowKernelEmitter::sweepAligned(
    OpBuilder &builder, ValueRange rowIvs,
    function_ref<void(OpBuilder &, Value, Value, bool)> step) {
  MLIRContext *ctx = builder.getContext();
  auto outputType = cast<MemRefType>(output.getType());
  int64_t elementBytes = outputType.getElementTypeBitWidth() / 8;
  int64_t alignment = std::min(kCacheLineBytes, lanes * elementBytes);
  AffineExpr d0 = getAffineDimExpr(0, ctx);

  // The byte address of the row's first output element.
  Value address = getRowAddress(builder, output, rowIvs);

  // head = elements before the first aligned one (at most the row), body =
  // the whole vectors after it, then a partial vector.
  Value n = getValueOrCreateConstantIndexOp(builder, loc, normSizes.back());
  Value misalignment = affine::AffineApplyOp::create(
      builder, loc,
      AffineMap::get(
          1, 0,
          ((alignment - d0 % alignment) % alignment).floorDiv(elementBytes)),
      address);
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
// Element access
//===----------------------------------------------------------------------===//

Value RowKernelEmitter::load(OpBuilder &builder, Value buffer,
                             ValueRange indices, Value mask, int64_t numLanes) {
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

void RowKernelEmitter::store(OpBuilder &builder, Value value, Value buffer,
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
      vector::MaskedStoreOp::create(builder, loc, buffer, indices, mask,
                                    value);
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

Value RowKernelEmitter::convert(OpBuilder &builder, Value value,
                                Type elementType) {
  Type from = getElementTypeOrSelf(value.getType());
  if (from == elementType)
    return value;
  auto retype = [&](Type element) -> Type {
    if (auto vectorType = dyn_cast<VectorType>(value.getType()))
      return vectorType.clone(element);
    return element;
  };
  unsigned fromBits = from.getIntOrFloatBitWidth();
  unsigned toBits = elementType.getIntOrFloatBitWidth();
  if (fromBits < toBits)
    return arith::ExtFOp::create(builder, loc, retype(elementType), value);
  if (fromBits > toBits)
    return arith::TruncFOp::create(builder, loc, retype(elementType), value);
  // Same width, different format (f16 <-> bf16): through f32.
  Value wide =
      arith::ExtFOp::create(builder, loc, retype(builder.getF32Type()), value);
  return arith::TruncFOp::create(builder, loc, retype(elementType), wide);
}

Value RowKernelEmitter::loadRow(OpBuilder &builder, ValueRange rowIvs,
                                ValueRange normIvs, Value mask,
                                RowSource source, int64_t numLanes) {
  SmallVector<Value> indices = fullIndices(rowIvs, normIvs);
  if (residualOutput && source == RowSource::Reuse && !emittingStreamedRow)
    return convert(builder,
                   load(builder, residualOutput, indices, mask, numLanes),
                   computeType);
  Value x = load(builder, input, indices, mask, numLanes);
  if (!residual)
    return convert(builder, x, computeType);
  Value r = load(builder, residual, indices, mask, numLanes);
  Value wideX = convert(builder, x, computeType);
  Value wideR = convert(builder, r, computeType);
  Value sum = arith::AddFOp::create(builder, loc, wideX, wideR);
  // h is what the input type holds: round the sum once to it.
  bool nontemporal = emittingStreamedRow && !mask;
  Value h = nontemporal && inputElementType.isBF16() && computeType.isF32()
                ? roundToBF16Bits(builder, sum)
                : convert(builder, sum, inputElementType);
  if (residualOutput && source == RowSource::ComputeAndWrite)
    store(builder, h, residualOutput, indices, mask, nontemporal);
  return convert(builder, h, computeType);
}

Value RowKernelEmitter::zeroMasked(OpBuilder &builder, Value value,
                                   Value mask) {
  if (!mask)
    return value;
  Value zero = arith::ConstantOp::create(builder, loc, value.getType(),
                                         builder.getZeroAttr(value.getType()));
  return arith::SelectOp::create(builder, loc, mask, value, zero);
}

Value RowKernelEmitter::roundToBF16Bits(OpBuilder &builder, Value y) {
  auto type = cast<VectorType>(y.getType());
  auto i32Type = type.clone(builder.getI32Type());
  auto splat = [&](uint32_t value) -> Value {
    return arith::ConstantOp::create(
        builder, loc, i32Type,
        DenseElementsAttr::get(i32Type, builder.getI32IntegerAttr(value)));
  };
  Value bits = arith::BitcastOp::create(builder, loc, i32Type, y);
  Value high = arith::ShRUIOp::create(builder, loc, bits, splat(16));
  Value lowestKept = arith::AndIOp::create(builder, loc, high, splat(1));
  Value biased = arith::AddIOp::create(builder, loc, bits, splat(0x7fff));
  biased = arith::AddIOp::create(builder, loc, biased, lowestKept);
  Value rounded = arith::ShRUIOp::create(builder, loc, biased, splat(16));
  Value quietNan = arith::OrIOp::create(builder, loc, high, splat(0x40));
  Value isNan =
      arith::CmpFOp::create(builder, loc, arith::CmpFPredicate::UNO, y, y);
  rounded = arith::SelectOp::create(builder, loc, isNan, quietNan, rounded);
  Value narrow = arith::TruncIOp::create(
      builder, loc, type.clone(builder.getI16Type()), rounded);
  return arith::BitcastOp::create(builder, loc,
                                  type.clone(builder.getBF16Type()), narrow);
}

Value RowKernelEmitter::convertOutput(OpBuilder &builder, Value y,
                                      Type outputElementType,
                                      bool nontemporal) {
  if (nontemporal && outputElementType.isBF16() && computeType.isF32())
    return roundToBF16Bits(builder, y);
  if (!outScale)
    return convert(builder, y, outputElementType);
  auto type = cast<VectorType>(y.getType());
  auto splat = [&](double value) -> Value {
    return arith::ConstantOp::create(
        builder, loc, type,
        DenseElementsAttr::get(type, builder.getFloatAttr(computeType, value)));
  };
  Value scale = vector::BroadcastOp::create(builder, loc, type, outScale);
  Value q = arith::DivFOp::create(builder, loc, y, scale);
  if (isa<FloatType>(outputElementType)) {
    // f8E4M3FN: saturate to the largest finite value, then round once.
    q = arith::MaximumFOp::create(builder, loc, q, splat(-448.0));
    q = arith::MinimumFOp::create(builder, loc, q, splat(448.0));
    return arith::TruncFOp::create(builder, loc, type.clone(outputElementType),
                                   q);
  }
  // i8: round half to even, saturate, NaN to 0.
  Value isNan =
      arith::CmpFOp::create(builder, loc, arith::CmpFPredicate::UNO, q, q);
  q = math::RoundEvenOp::create(builder, loc, q);
  q = arith::MaximumFOp::create(builder, loc, q, splat(-128.0));
  q = arith::MinimumFOp::create(builder, loc, q, splat(127.0));
  q = arith::SelectOp::create(builder, loc, isNan, splat(0.0), q);
  return arith::FPToSIOp::create(builder, loc, type.clone(outputElementType),
                                 q);
}

Value RowKernelEmitter::reduceSum(OpBuilder &builder,
                                  ArrayRef<SmallVector<Value>> copies,
                                  unsigned index) {
  // Pairwise, so the copies' sums stay independent as long as possible.
  SmallVector<Value> partial;
  for (const SmallVector<Value> &copy : copies)
    partial.push_back(copy[index]);
  while (partial.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < partial.size(); i += 2)
      next.push_back(
          arith::AddFOp::create(builder, loc, partial[i], partial[i + 1]));
    if (partial.size() % 2)
      next.push_back(partial.back());
    partial = std::move(next);
  }
  return vector::ReductionOp::create(builder, loc, vector::CombiningKind::ADD,
                                     partial.front(),
                                     arith::FastMathFlags::reassoc);
}

//===----------------------------------------------------------------------===//
// One row
//===----------------------------------------------------------------------===//

void RowKernelEmitter::emitRow(OpBuilder &builder, ValueRange rowIvs) {
  VectorType computeVector = vectorOf(computeType);
  Value zeroVector = arith::ConstantOp::create(
      builder, loc, computeVector, builder.getZeroAttr(computeVector));
  auto contract = arith::FastMathFlags::contract;
  Value scale =
      vector::BroadcastOp::create(builder, loc, computeVector, invSqrtRowSize);
  bool residualWritten = false;

  // LayerNorm: the pivoted mean (and, with one-pass-variance, the pivoted
  // sum of squares). Elements are centred as (h - p) - d, never as
  // h - (p + d): the rounded mean p + d is off by up to half an ulp of a
  // large mean, which swamps a short row's small spread.
  Value meanScalar, pivotVector, offsetVector, pivotedMean, pivotedSquares;
  if (op.isLayerNorm()) {
    // The pivot is the row's first element; a dynamic row may be empty.
    SmallVector<Value> firstIndices;
    Value zeroIndex = arith::ConstantIndexOp::create(builder, loc, 0);
    firstIndices.assign(normSizes.size(), zeroIndex);
    auto loadPivot = [&](OpBuilder &nb) {
      // Before sweep 1 writes residual_out: computed, not reused.
      Value first =
          loadRow(nb, rowIvs, firstIndices, Value(), RowSource::Compute, 1);
      return vector::ExtractOp::create(nb, loc, first, ArrayRef<int64_t>{0})
          .getResult();
    };
    Value pivot;
    if (getConstantIntValues(normSizes)) {
      pivot = loadPivot(builder);
    } else {
      Value nonEmpty =
          arith::ConstantOp::create(builder, loc, builder.getBoolAttr(true));
      for (OpFoldResult size : normSizes)
        if (auto value = dyn_cast<Value>(size))
          nonEmpty = arith::AndIOp::create(
              builder, loc, nonEmpty,
              arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::ne,
                                    value, zeroIndex));
      auto ifOp = scf::IfOp::create(
          builder, loc, nonEmpty,
          [&](OpBuilder &nb, Location) {
            scf::YieldOp::create(nb, loc, loadPivot(nb));
          },
          [&](OpBuilder &nb, Location) {
            scf::YieldOp::create(
                nb, loc,
                arith::ConstantOp::create(nb, loc, nb.getZeroAttr(computeType))
                    .getResult());
          });
      pivot = ifOp.getResult(0);
    }
    // A non-finite pivot is replaced by 0, so that a row holding inf gets
    // its IEEE mean, not inf - inf (docs/Rationale.md, "Non-finite rows").
    double infinity = std::numeric_limits<double>::infinity();
    Value inf = arith::ConstantOp::create(
        builder, loc, builder.getFloatAttr(computeType, infinity));
    Value negInf = arith::ConstantOp::create(
        builder, loc, builder.getFloatAttr(computeType, -infinity));
    Value belowInf = arith::CmpFOp::create(
        builder, loc, arith::CmpFPredicate::OLT, pivot, inf);
    Value aboveNegInf = arith::CmpFOp::create(
        builder, loc, arith::CmpFPredicate::OGT, pivot, negInf);
    Value isFinite =
        arith::AndIOp::create(builder, loc, belowInf, aboveNegInf);
    Value zero =
        arith::ConstantOp::create(builder, loc, builder.getZeroAttr(computeType));
    pivot = arith::SelectOp::create(builder, loc, isFinite, pivot, zero);
    pivotVector =
        vector::BroadcastOp::create(builder, loc, computeVector, pivot);
    // With one-pass-variance, sweep 1 also sums ((h - p) * c)^2.
    SmallVector<Value> init = {zeroVector};
    if (options.onePassVariance)
      init.push_back(zeroVector);
    auto sums =
        sweep(builder, init, unroll,
              [&](OpBuilder &nb, ValueRange normIvs, Value mask,
                  ValueRange state) -> SmallVector<Value> {
                Value h = loadRow(nb, rowIvs, normIvs, mask,
                                  RowSource::ComputeAndWrite);
                Value d = zeroMasked(
                    nb, arith::SubFOp::create(nb, loc, h, pivotVector), mask);
                SmallVector<Value> next = {
                    arith::AddFOp::create(nb, loc, state[0], d)};
                if (state.size() > 1) {
                  Value t = arith::MulFOp::create(nb, loc, d, scale);
                  Value square = arith::MulFOp::create(nb, loc, t, t, contract);
                  next.push_back(arith::AddFOp::create(nb, loc, state[1],
                                                       square, contract));
                }
                return next;
              });
    residualWritten = true;
    Value sum = reduceSum(builder, sums);
    pivotedMean = arith::DivFOp::create(builder, loc, sum, rowSize);
    if (options.onePassVariance)
      pivotedSquares = reduceSum(builder, sums, 1);
    meanScalar = arith::AddFOp::create(builder, loc, pivot, pivotedMean);
    offsetVector =
        vector::BroadcastOp::create(builder, loc, computeVector, pivotedMean);
  }
  auto centre = [&](OpBuilder &nb, Value h) -> Value {
    if (!pivotVector)
      return h;
    return arith::SubFOp::create(
        nb, loc, arith::SubFOp::create(nb, loc, h, pivotVector), offsetVector);
  };

  // The scaled sum of squares: centred for LayerNorm, and for the tiny-row
  // rescue of elements first multiplied by `factor` (a vector).
  RowSource squaresSource =
      residualWritten ? RowSource::Reuse : RowSource::ComputeAndWrite;
  auto centredSquares = [&](OpBuilder &sb, RowSource source,
                            Value factor = Value()) {
    auto squares = sweep(
        sb, {zeroVector}, unroll,
        [&](OpBuilder &nb, ValueRange normIvs, Value mask,
            ValueRange state) -> SmallVector<Value> {
          Value h = centre(nb, loadRow(nb, rowIvs, normIvs, mask, source));
          if (factor)
            h = arith::MulFOp::create(nb, loc, h, factor);
          Value t =
              zeroMasked(nb, arith::MulFOp::create(nb, loc, h, scale), mask);
          Value square = arith::MulFOp::create(nb, loc, t, t, contract);
          return {arith::AddFOp::create(nb, loc, state[0], square, contract)};
        });
    return reduceSum(sb, squares);
  };
  Value sumSquares;
  if (!pivotedSquares) {
    sumSquares = centredSquares(builder, squaresSource);
  } else {
    // var = sum(((h - p) c)^2) - ((mean - p))^2, kept when the subtraction
    // loses at most 4 bits: (mean - p)^2 <= 15 var, i.e. the pivot lies
    // within ~3.9 standard deviations of the mean (always so for a
    // constant row, nearly always for sampled data). Otherwise, or for
    // NaN, the centred sweep.
    Value offsetSquared =
        arith::MulFOp::create(builder, loc, pivotedMean, pivotedMean);
    Value onePass =
        arith::SubFOp::create(builder, loc, pivotedSquares, offsetSquared);
    Value bound = arith::MulFOp::create(builder, loc, pivotedSquares,
                                        constantFloat(15.0 / 16.0));
    Value accurate = arith::CmpFOp::create(
        builder, loc, arith::CmpFPredicate::OLE, offsetSquared, bound);
    auto ifOp = scf::IfOp::create(
        builder, loc, accurate,
        [&](OpBuilder &nb, Location) {
          scf::YieldOp::create(nb, loc, onePass);
        },
        [&](OpBuilder &nb, Location) {
          scf::YieldOp::create(nb, loc, centredSquares(nb, squaresSource));
        });
    sumSquares = ifOp.getResult(0);
  }

  // rstd, NaN for a row whose mean square overflowed (non-finite input).
  const llvm::fltSemantics &semantics =
      cast<FloatType>(computeType).getFloatSemantics();
  Value rstdScalar = math::RsqrtOp::create(
      builder, loc, arith::AddFOp::create(builder, loc, sumSquares, epsilon));
  Value inf = arith::ConstantOp::create(
      builder, loc,
      builder.getFloatAttr(computeType, APFloat::getInf(semantics)));
  Value nan = arith::ConstantOp::create(
      builder, loc,
      builder.getFloatAttr(computeType, APFloat::getNaN(semantics)));
  Value isInf = arith::CmpFOp::create(builder, loc, arith::CmpFPredicate::OEQ,
                                      sumSquares, inf);
  rstdScalar = arith::SelectOp::create(builder, loc, isInf, nan, rstdScalar);
  if (rescueValues.scale) {
    // A tiny row: its squares again, from the elements times a power of
    // two, in one more sweep (which the usual row never runs).
    Value tiny = createIsTinyRow(builder, loc, rescueValues, sumSquares);
    Value rstdUsual = rstdScalar;
    auto ifOp = scf::IfOp::create(
        builder, loc, tiny,
        [&](OpBuilder &nb, Location) {
          Value factor = vector::BroadcastOp::create(nb, loc, computeVector,
                                                     rescueValues.scale);
          Value rescaled = centredSquares(nb, RowSource::Reuse, factor);
          Value rsqrt = math::RsqrtOp::create(
              nb, loc,
              arith::AddFOp::create(nb, loc, rescaled, rescueValues.scaledEps));
          scf::YieldOp::create(
              nb, loc,
              arith::MulFOp::create(nb, loc, rescueValues.scale, rsqrt)
                  .getResult());
        },
        [&](OpBuilder &nb, Location) {
          scf::YieldOp::create(nb, loc, rstdUsual);
        });
    rstdScalar = ifOp.getResult(0);
  }

  if (mean)
    memref::StoreOp::create(
        builder, loc,
        convert(builder, meanScalar,
                cast<MemRefType>(mean.getType()).getElementType()),
        mean, rowIvs);
  if (rstd)
    memref::StoreOp::create(
        builder, loc,
        convert(builder, rstdScalar,
                cast<MemRefType>(rstd.getType()).getElementType()),
        rstd, rowIvs);

  // Normalise and store.
  Value rstdVector =
      vector::BroadcastOp::create(builder, loc, computeVector, rstdScalar);
  Type outputElementType = cast<MemRefType>(output.getType()).getElementType();
  // With `prefetch`, the next row along the innermost row dim (clamped to
  // the last) is prefetched as this one is normalised, so that its loads
  // overlap this row's stores. Not with a residual: the rows this sweep
  // re-reads (x and r, or x + r) and the next ones do not fit in L1
  // together, and the hardware prefetcher does better alone (bench/fusion.py,
  // 16384x4096 f32 -> bf16: 29.9 ms without, 36.5 ms prefetching x and r).
  SmallVector<Value> nextRowIvs;
  if (options.prefetch && !residual && !rowIvs.empty() && lanes > 1) {
    nextRowIvs.assign(rowIvs.begin(), rowIvs.end());
    MLIRContext *ctx = builder.getContext();
    OpFoldResult rows = rowSizes.back();
    AffineExpr d0 = getAffineDimExpr(0, ctx);
    SmallVector<AffineExpr> bounds = {d0 + 1};
    SmallVector<Value> operands = {rowIvs.back()};
    if (auto dynamicRows = dyn_cast<Value>(rows)) {
      bounds.push_back(getAffineSymbolExpr(0, ctx) - 1);
      operands.push_back(dynamicRows);
    } else {
      bounds.push_back(
          getAffineConstantExpr(*getConstantIntValue(rows) - 1, ctx));
    }
    nextRowIvs.back() = affine::AffineMinOp::create(
        builder, loc, AffineMap::get(1, operands.size() - 1, bounds, ctx),
        operands);
  }
  auto normalise = [&](OpBuilder &nb, ValueRange normIvs, Value mask,
                       bool nontemporal) {
    // One prefetch per cache line the step covers (a step of wide vectors
    // spans several lines).
    if (!nextRowIvs.empty()) {
      int64_t elementBytes = std::max<int64_t>(
          1, cast<MemRefType>(input.getType()).getElementTypeBitWidth() / 8);
      for (int64_t offset = 0; offset < lanes * elementBytes;
           offset += kCacheLineBytes) {
        SmallVector<Value> indices(normIvs);
        if (offset != 0)
          indices.back() = arith::AddIOp::create(
              nb, loc, indices.back(),
              arith::ConstantIndexOp::create(nb, loc, offset / elementBytes));
        memref::PrefetchOp::create(nb, loc, input,
                                   fullIndices(nextRowIvs, indices),
                                   /*isWrite=*/false,
                                   std::min(3u, options.prefetchLocality),
                                   /*isDataCache=*/true);
      }
    }
    Value h = centre(nb, loadRow(nb, rowIvs, normIvs, mask, RowSource::Reuse));
    Value y = arith::MulFOp::create(nb, loc, h, rstdVector);
    if (gamma) {
      Value g = convert(nb, load(nb, gamma, normIvs, mask), computeType);
      y = arith::MulFOp::create(nb, loc, y, g, contract);
    }
    if (beta) {
      Value c = convert(nb, load(nb, beta, normIvs, mask), computeType);
      y = arith::AddFOp::create(nb, loc, y, c, contract);
    }
    store(nb, convertOutput(nb, y, outputElementType, nontemporal), output,
          fullIndices(rowIvs, normIvs), mask, nontemporal);
  };
  auto regularSweep = [&](OpBuilder &nb) {
    sweep(nb, {}, unroll,
          [&](OpBuilder &inner, ValueRange normIvs, Value mask,
              ValueRange) -> SmallVector<Value> {
            normalise(inner, normIvs, mask, /*nontemporal=*/false);
            return {};
          });
  };
  auto nontemporalSweep = [&](OpBuilder &nb) {
    sweepAligned(
        nb, rowIvs,
        [&](OpBuilder &inner, Value index, Value mask, bool nontemporal) {
          normalise(inner, index, mask, nontemporal);
        });
  };
  if (alwaysNontemporal) {
    nontemporalSweep(builder);
    return;
  }
  if (!useNontemporal) {
    regularSweep(builder);
    return;
  }
  scf::IfOp::create(
      builder, loc, useNontemporal,
      [&](OpBuilder &nb, Location) {
        nontemporalSweep(nb);
        scf::YieldOp::create(nb, loc);
      },
      [&](OpBuilder &nb, Location) {
        regularSweep(nb);
        scf::YieldOp::create(nb, loc);
      });
}

void RowKernelEmitter::emit() {
  prepareViews();
  rowSize = getRowSizeAsFloat();
  Value one = constantFloat(1.0);
  Value sqrtRowSize = math::SqrtOp::create(b, loc, rowSize);
  invSqrtRowSize = arith::DivFOp::create(b, loc, one, sqrtRowSize);
  epsilon = getEpsilon();
  if (std::optional<TinyRowRescue> rescue = getTinyRowRescue(op))
    rescueValues = createTinyRowRescueValues(b, loc, *rescue, epsilon,
                                             /*runTimeEps=*/!!op.getEpsValue());
  if (Value scale = op.getOutScale())
    outScale = convert(b, scale, computeType);

  // Non-temporal stores need whole aligned vectors along one contiguous
  // normalised dim, and an output big enough not to be wanted in cache.
  // They are x86's streaming stores (their fence is x86's): elsewhere the
  // threshold is ignored.
  int64_t threshold = isX86Host() ? options.nontemporalThreshold : -1;
  auto outputType = cast<MemRefType>(output.getType());
  unsigned outputBits = outputType.getElementTypeBitWidth();
  // Vectors must be a power of two bytes long to be aligned (an odd
  // vector-width, e.g. 3, gives plain stores).
  if (threshold >= 0 && lanes > 1 && llvm::isPowerOf2_64(lanes) &&
      normSizes.size() == 1 && outputBits % 8 == 0 &&
      llvm::isPowerOf2_32(outputBits)) {
    int64_t elementBytes = outputBits / 8;
    SmallVector<OpFoldResult> sizes(rowSizes);
    sizes.append(normSizes);
    if (std::optional<SmallVector<int64_t>> staticSizes =
            getConstantIntValues(sizes)) {
      int64_t bytes = elementBytes;
      for (int64_t size : *staticSizes)
        bytes *= size;
      alwaysNontemporal = bytes >= threshold;
    } else {
      Value bytes = arith::ConstantIndexOp::create(b, loc, elementBytes);
      for (OpFoldResult size : sizes)
        bytes = arith::MulIOp::create(
            b, loc, bytes, getValueOrCreateConstantIndexOp(b, loc, size));
      useNontemporal = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::uge, bytes,
          arith::ConstantIndexOp::create(b, loc, threshold));
    }
  }

  // A non-temporal store of less than 64 bytes of a type narrower than 32
  // bits loses its hint in LLVM (a truncating store, or one fed by the bf16
  // conversion, becomes a plain store): such outputs take vectors of a
  // whole cache line, stored as one.
  if ((alwaysNontemporal || useNontemporal) && outputBits < 32)
    lanes = std::max<int64_t>(lanes, 512 / outputBits);

  // residual_out streams with the output when every row is whole vectors of
  // a static length small enough for the later sweeps to find the input
  // and residual rows in cache.
  std::optional<int64_t> rowLength =
      normSizes.size() == 1 ? getConstantIntValue(normSizes.front())
                            : std::nullopt;
  int64_t inputBits = inputElementType.getIntOrFloatBitWidth();
  if (residualOutput && alwaysNontemporal && rowLength &&
      *rowLength * inputBits / 8 <= kMaxStreamedRowBytes &&
      inputBits % 8 == 0 && llvm::isPowerOf2_64(inputBits)) {
    if (inputBits < 32)
      lanes = std::max<int64_t>(lanes, 512 / inputBits);
    streamResidual = *rowLength % lanes == 0;
  }
  if (streamResidual) {
    Value overlapsInput = mayOverlap(b, residualOutput, input);
    Value overlapsResidual = mayOverlap(b, residualOutput, residual);
    Value overlaps =
        arith::OrIOp::create(b, loc, overlapsInput, overlapsResidual);
    Value trueValue = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
    residualStreamable = arith::XOrIOp::create(b, loc, overlaps, trueValue);
  }

  emitRowLoops([&](OpBuilder &builder, ValueRange rowIvs) {
    if (!streamResidual) {
      emitRow(builder, rowIvs);
      return;
    }
    // Every vector of the row is aligned when its first one is (the row
    // length is a multiple of the lanes).
    int64_t alignment = std::min(kCacheLineBytes, lanes * inputBits / 8);
    Value address = getRowAddress(builder, residualOutput, rowIvs);
    Value alignmentValue =
        arith::ConstantIndexOp::create(builder, loc, alignment);
    Value misalignment =
        arith::RemUIOp::create(builder, loc, address, alignmentValue);
    Value stream = arith::AndIOp::create(
        builder, loc, residualStreamable,
        arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::eq,
                              misalignment,
                              arith::ConstantIndexOp::create(builder, loc, 0)));
    scf::IfOp::create(
        builder, loc, stream,
        [&](OpBuilder &nb, Location) {
          emittingStreamedRow = true;
          emitRow(nb, rowIvs);
          emittingStreamedRow = false;
          scf::YieldOp::create(nb, loc);
        },
        [&](OpBuilder &nb, Location) {
          emitRow(nb, rowIvs);
          scf::YieldOp::create(nb, loc);
        });
  });

  // Non-temporal stores are weakly ordered: an sfence orders them before
  // anything the caller does next, as memcpy does after its streaming
  // stores. (LLVM lowers `fence seq_cst` to a locked instruction on some
  // x86 targets, which does not order them.) Other threads' rows are
  // ordered by the barrier that ends a parallel loop.
  auto emitStoreFence = [&](OpBuilder &builder) {
    LLVM::CallIntrinsicOp::create(builder, loc,
                                  builder.getStringAttr("llvm.x86.sse.sfence"),
                                  ValueRange());
  };
  if (alwaysNontemporal) {
    emitStoreFence(b);
  } else if (useNontemporal) {
    scf::IfOp::create(b, loc, useNontemporal, [&](OpBuilder &nb, Location) {
      emitStoreFence(nb);
      scf::YieldOp::create(nb, loc);
    });
  }
}

//===----------------------------------------------------------------------===//
// Pattern and pass
//===----------------------------------------------------------------------===//

/// Why the CPU lowering cannot take `op`'s element types, or an empty
/// string. The row kernels compute in f32 (f64 for f64) and load and store
/// what the LLVM dialect can: f16, bf16, f32 and f64, and the quantised
/// output types (i8, f8E4M3FN, expanded by norm-expand-fp8-casts). Other
/// float types (f8 inputs, tf32, f80, ...) would leave conversions that do
/// not lower to LLVM.
static std::string getUnsupportedTypeReason(NormOpInterface op) {
  auto isSupported = [](Type type) {
    return type.isF16() || type.isBF16() || type.isF32() || type.isF64();
  };
  std::pair<StringRef, Value> operands[] = {
      {"input", op.getInput()},
      {"residual", op.getResidual()},
      {"gamma", op.getGamma()},
      {"beta", op.getBeta()},
      {"eps", op.getEpsValue()},
      {"out_scale", op.getOutScale()},
      {"residual_out", op.getResidualOutput()},
      {"mean", op.getMean()},
      {"rstd", op.getRstd()},
      {"output", op.getOutput()}};
  for (auto [name, value] : operands) {
    if (!value)
      continue;
    Type type = getElementTypeOrSelf(value);
    if (isSupported(type) || (name == "output" && op.hasQuantizedOutput() &&
                              isQuantizedElementType(type)))
      continue;
    std::string reason;
    llvm::raw_string_ostream os(reason);
    os << "expects f16, bf16, f32 or f64 elements in the " << name
       << " to lower it to CPU code, got '" << type << "'";
    return reason;
  }
  return "";
}

namespace {
/// Replaces a norm op on memrefs by its row loops.
struct LowerNormOpToAffine : public OpInterfaceRewritePattern<NormOpInterface> {
  LowerNormOpToAffine(MLIRContext *context,
                      const ConvertNormToAffineOptions &options)
      : OpInterfaceRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expects an op on memrefs");
    std::string unsupported = getUnsupportedTypeReason(op);
    if (!unsupported.empty())
      return rewriter.notifyMatchFailure(op, unsupported);
    RowKernelEmitter(rewriter, op, options).emit();
    rewriter.eraseOp(op);
    return success();
  }

  ConvertNormToAffineOptions options;
};

struct ConvertNormToAffinePass
    : public norm::impl::ConvertNormToAffineBase<ConvertNormToAffinePass> {
  using Base::Base;

  /// The pass's options as the patterns take them.
  ConvertNormToAffineOptions getLoweringOptions() const {
    ConvertNormToAffineOptions passOptions;
    passOptions.vectorWidth = vectorWidth;
    passOptions.unroll = unroll;
    passOptions.parallel = parallel;
    passOptions.nontemporalThreshold = nontemporalThreshold;
    passOptions.prefetch = prefetch;
    passOptions.prefetchLocality = prefetchLocality;
    passOptions.onePassVariance = onePassVariance;
    return passOptions;
  }

  void runOnOperation() override {
    SmallVector<NormOpInterface> normOps;
    getOperation()->walk([&](NormOpInterface op) { normOps.push_back(op); });
    ConvertNormToAffineOptions passOptions = getLoweringOptions();
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    for (NormOpInterface op : normOps) {
      if (op.hasPureTensorSemantics()) {
        op->emitOpError("must be bufferized before --convert-norm-to-affine "
                        "(it lowers norm ops on memrefs)");
        failedAny = true;
        continue;
      }
      std::string unsupported = getUnsupportedTypeReason(op);
      if (!unsupported.empty()) {
        op->emitOpError(unsupported);
        failedAny = true;
        continue;
      }
      rewriter.setInsertionPoint(op);
      RowKernelEmitter(rewriter, op, passOptions).emit();
      rewriter.eraseOp(op);
    }
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace

FailureOr<ConvertNormToAffineOptions> mlir::norm::parseNormToAffineOptions(
    StringRef text, function_ref<LogicalResult(const Twine &)> errorHandler) {
  ConvertNormToAffinePass pass;
  if (failed(pass.initializeOptions(text, errorHandler)))
    return failure();
  return pass.getLoweringOptions();
}

void mlir::norm::populateNormToAffineConversionPatterns(
    RewritePatternSet &patterns, const ConvertNormToAffineOptions &options) {
  patterns.add<LowerNormOpToAffine>(patterns.getContext(), options);
}
