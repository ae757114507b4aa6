//===- NormDecomposition.cpp - Norm ops as a DAG of linalg.generic --------===//
//
// The reference semantics of the norm ops, as `linalg.generic`s. This is
// `AggregatedOpInterface::decomposeOperation` and the body of
// `--convert-norm-to-linalg`; every other lowering is checked against it.
//
// The arithmetic of a row is the row-math layer's
// (norm/Dialect/Norm/Utils/RowMath.h); this file is its schedule as
// generics. For a row `h` of N elements (in the compute type: f32, or f64
// for f64):
//
//   p    = h[0], or 0 if not finite            (pivot, see below)
//   d    = sum(h - p) / N,  mean = p + d        (LayerNorm)
//   var  = sum((((h - p) - d) * c)^2),  c = 1/sqrt(N)
//   ms   = sum((h * c)^2)                       (RMSNorm)
//   rstd = 1/sqrt(var + eps)  or  1/sqrt(ms + eps), NaN if ms is +inf
//   out  = ((h - p) - d) * rstd * gamma + beta  or  h * rstd * gamma
//
// A quantised output divides `out` (still in the compute type) by the
// scalar out_scale s, then
//
//   i8:        q = fptosi(clamp(roundeven(out / s), -128, 127)), 0 for NaN
//   f8E4M3FN:  q = truncf(clamp(out / s, -448, 448))   (round to nearest even)
//
// (clamp = minimumf/maximumf, which propagate NaN). Saturating first means
// that no value is out of range of the conversion.
//
// Subtracting the row's first element before summing keeps the mean exact
// for a constant row (so its output is exactly beta) and accurate when the
// mean is large relative to the spread. Centring by p and then d, never by
// the rounded mean p + d, keeps that accuracy in the output: for rows of
// 1e4 + N(0, 1), p + d in f32 is off by up to 5e-4, a large error in a
// short row whose spread is small. Scaling by c before squaring keeps
// the sum of squares in range for inputs up to ~1e19 in f32. An infinite
// mean square can only come from a non-finite input, and makes the whole
// row NaN (as LayerNorm does naturally) instead of silently zero.
//
// At the other end, squares of elements below ~1e-19 (f32) are subnormal
// and lose their bits. When eps is small enough for that to matter (below
// 2^-74 in f32, or given at run time), the sum of squares generic also
// sums the squares of the centred elements times a power of two s, and a
// row whose sum is tiny (below 2^-100) takes rstd = s / sqrt(q' + eps s^2)
// instead (the tiny-row rescue, see getTinyRowRescue).
//
//===----------------------------------------------------------------------===//

#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::norm;

namespace {
/// Builds the linalg DAG for one norm op. On tensors the generics return
/// values; on memrefs they write buffers (temporaries are allocated and
/// freed around the DAG).
class LinalgDecomposer {
public:
  LinalgDecomposer(OpBuilder &b, NormOpInterface op)
      : b(b), op(op), loc(op->getLoc()), onTensors(op.hasPureTensorSemantics()),
        rank(op.getInputType().getRank()), axis(op.getNormalizedAxis()),
        inputElementType(op.getInputType().getElementType()),
        computeType(getComputeElementType(inputElementType)) {}

  FailureOr<SmallVector<Value>> decompose();
  /// The stages up to rstd only; the caller frees the temporaries.
  LinalgRowStatistics decomposeStatistics();

private:
  /// The sizes, maps, N, c and eps the stages use.
  void setUp();
  using BodyBuilder = function_ref<SmallVector<Value>(ValueRange)>;

  /// Emits a generic over the input's iteration space with `reducing` set
  /// when the normalised dims are reductions; returns its results (tensors)
  /// or its output buffers (memrefs).
  SmallVector<Value> emitGeneric(ValueRange inputs, ArrayRef<AffineMap> inMaps,
                                 ValueRange outputs,
                                 ArrayRef<AffineMap> outMaps, bool reducing,
                                 BodyBuilder body);
  /// Emits a generic over the row space only.
  SmallVector<Value> emitRowGeneric(ValueRange inputs, ValueRange outputs,
                                    BodyBuilder body);
  /// A new uninitialised row-shaped (or input-shaped) temporary.
  Value createTemporary(bool rowShaped, Type elementType);
  /// A row-shaped temporary holding zeros in the compute type.
  Value createZeroAccumulator();
  /// Converts a float scalar to the compute type.
  Value toCompute(Value value) {
    return createFloatConversion(b, loc, value, computeType);
  }
  /// Sets up the affine maps of the generics.
  void buildMaps();

  //--- The stages, in order; each sets the values the next ones use. -------
  /// h = input (+ residual, rounded to the input's element type).
  void emitResidualSum();
  /// LayerNorm: the per-row pivot p and offset d = mean - p (and the mean
  /// destination).
  void emitPivotAndOffset();
  /// The per-row scaled sum of squares (and, with the tiny-row rescue, that
  /// of the elements times its power of two).
  void emitSumsOfSquares();
  /// rstd from the sums (and the rstd destination).
  void emitRstd();
  /// The operands of the generics that compute the output element y, and
  /// where the optional ones are among them.
  struct OutputInputs {
    SmallVector<Value> values;
    SmallVector<AffineMap> maps;
    int pivotIdx = -1, gammaIdx = -1, betaIdx = -1;
  };
  OutputInputs getOutputInputs();
  /// y in the compute type, from the block arguments of a generic whose
  /// inputs start with `in`.
  Value emitNormalizedElement(const OutputInputs &in, ValueRange args);
  /// Dynamic quantisation: the amax generic and the scales generic (and
  /// `scalesMap`); returns the scales (tensors) or their buffer.
  Value emitDynamicScales();
  /// The output generic; returns its result (tensors).
  Value emitOutput();

  OpBuilder &b;
  NormOpInterface op;
  Location loc;
  bool onTensors;
  int64_t rank;
  int64_t axis;
  Type inputElementType;
  Type computeType;
  SmallVector<OpFoldResult> inputSizes;
  SmallVector<Value> temporaries;

  /// Maps of the input space onto itself, the row dims, the normalised dims,
  /// and the first element of the row.
  AffineMap fullMap, rowMap, normMap, pivotMap;
  /// N, c = 1/sqrt(N) and eps, in the compute type.
  Value rowSize, invSqrtRowSize, eps;
  std::optional<TinyRowRescue> rescue;
  TinyRowRescueValues rescueValues;
  /// What the stages produce: h, then the row-shaped pivot, offset (null
  /// for RMSNorm), sums of squares and rstd (tensors or buffers).
  Value h, pivot, offset, rstd;
  SmallVector<Value> sums;
  /// Dynamic quantisation: the scales, and the map of the input space onto
  /// them (the row, and per group the element's group).
  Value scales;
  AffineMap scalesMap;
};
} // namespace

/// The sizes of the tensor or memref `value`.
static SmallVector<OpFoldResult> getSizes(OpBuilder &b, Location loc,
                                          Value value) {
  if (isa<RankedTensorType>(value.getType()))
    return tensor::getMixedSizes(b, loc, value);
  return memref::getMixedSizes(b, loc, value);
}

/// The maps of a space of rank `rank` whose dims from `axis` on are
/// normalised: onto itself, onto the row dims and onto the normalised dims.
struct RowMaps {
  AffineMap full, rows, normalized;
};

static RowMaps getRowMaps(OpBuilder &b, int64_t rank, int64_t axis) {
  SmallVector<AffineExpr> rowExprs, normExprs;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? rowExprs : normExprs).push_back(b.getAffineDimExpr(d));
  MLIRContext *ctx = b.getContext();
  return {b.getMultiDimIdentityMap(rank),
          AffineMap::get(rank, 0, rowExprs, ctx),
          AffineMap::get(rank, 0, normExprs, ctx)};
}

/// A new uninitialised temporary of `sizes`: a `tensor.empty`, or a
/// `memref.alloc` added to `temporaries` for the caller to free.
static Value createTemporaryOfSizes(OpBuilder &b, Location loc, bool onTensors,
                                    ArrayRef<OpFoldResult> sizes,
                                    Type elementType,
                                    SmallVectorImpl<Value> &temporaries) {
  if (onTensors)
    return tensor::EmptyOp::create(b, loc, sizes, elementType);
  SmallVector<int64_t> staticSizes;
  SmallVector<Value> dynamicSizes;
  dispatchIndexOpFoldResults(sizes, dynamicSizes, staticSizes);
  auto type = MemRefType::get(staticSizes, elementType);
  Value buffer = memref::AllocOp::create(b, loc, type, dynamicSizes);
  temporaries.push_back(buffer);
  return buffer;
}

/// A temporary of `sizes` holding zeros of `elementType`.
static Value createZeroTemporary(OpBuilder &b, Location loc, bool onTensors,
                                 ArrayRef<OpFoldResult> sizes, Type elementType,
                                 SmallVectorImpl<Value> &temporaries) {
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
  Value init = createTemporaryOfSizes(b, loc, onTensors, sizes, elementType,
                                      temporaries);
  auto fill = linalg::FillOp::create(b, loc, zero, init);
  return onTensors ? fill.getResult(0) : init;
}

Value LinalgDecomposer::createTemporary(bool rowShaped, Type elementType) {
  ArrayRef<OpFoldResult> sizes = inputSizes;
  if (rowShaped)
    sizes = sizes.take_front(axis);
  return createTemporaryOfSizes(b, loc, onTensors, sizes, elementType,
                                temporaries);
}

Value LinalgDecomposer::createZeroAccumulator() {
  return createZeroTemporary(
      b, loc, onTensors, ArrayRef<OpFoldResult>(inputSizes).take_front(axis),
      computeType, temporaries);
}

/// The body of a generic: its block arguments in, the values to yield out.
using GenericBodyBuilder = function_ref<SmallVector<Value>(ValueRange)>;

/// A `linalg.generic` with `iterators`, whose body `body` builds with `b`;
/// returns its results (tensors) or its output buffers (memrefs).
static SmallVector<Value>
buildGeneric(OpBuilder &b, Location loc, bool onTensors, ValueRange inputs,
             ArrayRef<AffineMap> inMaps, ValueRange outputs,
             ArrayRef<AffineMap> outMaps,
             ArrayRef<utils::IteratorType> iterators, GenericBodyBuilder body) {
  SmallVector<AffineMap> maps(inMaps);
  maps.append(outMaps.begin(), outMaps.end());
  SmallVector<Type> resultTypes;
  if (onTensors)
    resultTypes = llvm::to_vector(outputs.getTypes());
  auto generic = linalg::GenericOp::create(
      b, loc, resultTypes, inputs, outputs, maps, iterators,
      [&](OpBuilder &nested, Location, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToEnd(nested.getInsertionBlock());
        linalg::YieldOp::create(b, loc, body(args));
      });
  if (onTensors)
    return SmallVector<Value>(generic.getResults());
  return SmallVector<Value>(outputs);
}

SmallVector<Value>
LinalgDecomposer::emitGeneric(ValueRange inputs, ArrayRef<AffineMap> inMaps,
                              ValueRange outputs, ArrayRef<AffineMap> outMaps,
                              bool reducing, BodyBuilder body) {
  unsigned numLoops = inMaps.empty() ? outMaps.front().getNumDims()
                                     : inMaps.front().getNumDims();
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  if (reducing)
    for (unsigned i = axis; i < numLoops; ++i)
      iterators[i] = utils::IteratorType::reduction;
  return buildGeneric(b, loc, onTensors, inputs, inMaps, outputs, outMaps,
                      iterators, body);
}

SmallVector<Value> LinalgDecomposer::emitRowGeneric(ValueRange inputs,
                                                    ValueRange outputs,
                                                    BodyBuilder body) {
  AffineMap id = b.getMultiDimIdentityMap(axis);
  SmallVector<AffineMap> inMaps(inputs.size(), id);
  SmallVector<AffineMap> outMaps(outputs.size(), id);
  if (axis == 0) {
    // A rank-0 row space: one "row", maps with no dims.
    AffineMap empty = AffineMap::get(b.getContext());
    inMaps.assign(inputs.size(), empty);
    outMaps.assign(outputs.size(), empty);
  }
  return emitGeneric(inputs, inMaps, outputs, outMaps, /*reducing=*/false,
                     body);
}

void LinalgDecomposer::buildMaps() {
  RowMaps maps = getRowMaps(b, rank, axis);
  fullMap = maps.full;
  rowMap = maps.rows;
  normMap = maps.normalized;
  // The row's first element: the row dims, then 0 in every normalised dim.
  SmallVector<AffineExpr> pivotExprs;
  for (int64_t d = 0; d < rank; ++d)
    pivotExprs.push_back(d < axis ? b.getAffineDimExpr(d)
                                  : b.getAffineConstantExpr(0));
  pivotMap = AffineMap::get(rank, 0, pivotExprs, b.getContext());
}

void LinalgDecomposer::emitResidualSum() {
  h = op.getInput();
  Value residual = op.getResidual();
  if (!residual)
    return;
  Value sumInit = op.getResidualOutput();
  if (!sumInit)
    sumInit = createTemporary(/*rowShaped=*/false, inputElementType);
  h = emitGeneric(
      {op.getInput(), residual}, {fullMap, fullMap}, {sumInit}, {fullMap},
      /*reducing=*/false, [&](ValueRange args) -> SmallVector<Value> {
        return {createRoundedResidualSum(b, loc, args[0], args[1], computeType,
                                         inputElementType)};
      })[0];
}

void LinalgDecomposer::emitPivotAndOffset() {
  Value pivotInit = createTemporary(/*rowShaped=*/true, computeType);
  SmallVector<Value> pivotAndSum = emitGeneric(
      {h, h}, {fullMap, pivotMap}, {pivotInit, createZeroAccumulator()},
      {rowMap, rowMap}, /*reducing=*/true,
      [&](ValueRange args) -> SmallVector<Value> {
        Value x = toCompute(args[0]);
        Value first = toCompute(args[1]);
        Value p = createFinitePivot(b, loc, first);
        Value shifted = createPivoted(b, loc, x, p);
        return {p, arith::AddFOp::create(b, loc, args[3], shifted)};
      });
  pivot = pivotAndSum[0];
  SmallVector<Value> outs = {createTemporary(true, computeType)};
  if (Value meanInit = op.getMean())
    outs.push_back(meanInit);
  offset = emitRowGeneric(
      pivotAndSum, outs, [&](ValueRange args) -> SmallVector<Value> {
        Value d = createOffset(b, loc, args[1], rowSize);
        SmallVector<Value> yields = {d};
        if (args.size() > 3) {
          Value mean = createMean(b, loc, args[0], d);
          yields.push_back(
              createFloatConversion(b, loc, mean, args[3].getType()));
        }
        return yields;
      })[0];
}

void LinalgDecomposer::emitSumsOfSquares() {
  rescue = getTinyRowRescue(computeType, op.getEpsilon());
  if (rescue)
    rescueValues = createTinyRowRescueValues(b, loc, *rescue, eps,
                                             /*runTimeEps=*/!!op.getEpsValue());
  SmallVector<Value> inputs = {h};
  SmallVector<AffineMap> inMaps = {fullMap};
  if (pivot) {
    inputs.append({pivot, offset});
    inMaps.append({rowMap, rowMap});
  }
  SmallVector<Value> inits = {createZeroAccumulator()};
  if (rescue)
    inits.push_back(createZeroAccumulator());
  sums = emitGeneric(
      inputs, inMaps, inits, SmallVector<AffineMap>(inits.size(), rowMap),
      /*reducing=*/true, [&](ValueRange args) -> SmallVector<Value> {
        Value x = toCompute(args[0]);
        if (pivot)
          x = createCentred(b, loc, x, args[1], args[2]);
        ValueRange accumulators = args.take_back(inits.size());
        Value square = createScaledSquare(b, loc, x, invSqrtRowSize);
        SmallVector<Value> yields = {
            arith::AddFOp::create(b, loc, accumulators[0], square)};
        if (rescue) {
          Value rescaled =
              createScaledSquare(b, loc, x, invSqrtRowSize, rescueValues.scale);
          yields.push_back(
              arith::AddFOp::create(b, loc, accumulators[1], rescaled));
        }
        return yields;
      });
}

void LinalgDecomposer::emitRstd() {
  SmallVector<Value> outs = {createTemporary(true, computeType)};
  if (Value rstdInit = op.getRstd())
    outs.push_back(rstdInit);
  rstd = emitRowGeneric(sums, outs, [&](ValueRange args) -> SmallVector<Value> {
    Value sumOfSquares = args[0];
    Value r = createRstd(b, loc, sumOfSquares, eps, RsqrtKind::Rsqrt);
    if (rescue) {
      Value tiny = createIsTinyRow(b, loc, rescueValues, sumOfSquares);
      Value rescued =
          createRescuedRstd(b, loc, rescueValues, args[1], RsqrtKind::Rsqrt);
      r = arith::SelectOp::create(b, loc, tiny, rescued, r);
    }
    SmallVector<Value> yields = {r};
    if (outs.size() > 1)
      yields.push_back(createFloatConversion(b, loc, r, args.back().getType()));
    return yields;
  })[0];
}

LinalgDecomposer::OutputInputs LinalgDecomposer::getOutputInputs() {
  OutputInputs in;
  in.values = {h, rstd};
  in.maps = {fullMap, rowMap};
  if (pivot) {
    in.pivotIdx = in.values.size();
    in.values.append({pivot, offset});
    in.maps.append({rowMap, rowMap});
  }
  if (Value gamma = op.getGamma()) {
    in.gammaIdx = in.values.size();
    in.values.push_back(gamma);
    in.maps.push_back(normMap);
  }
  if (Value beta = op.getBeta()) {
    in.betaIdx = in.values.size();
    in.values.push_back(beta);
    in.maps.push_back(normMap);
  }
  return in;
}

Value LinalgDecomposer::emitNormalizedElement(const OutputInputs &in,
                                              ValueRange args) {
  // y = ((h - p) - d) * rstd * gamma + beta.
  auto arg = [&](int idx) { return idx >= 0 ? args[idx] : Value(); };
  RowStatistics statistics{Value(), Value(), args[1]};
  if (in.pivotIdx >= 0) {
    statistics.pivot = args[in.pivotIdx];
    statistics.offset = args[in.pivotIdx + 1];
  }
  Value x = toCompute(args[0]);
  return createNormalizedOutput(b, loc, x, statistics, arg(in.gammaIdx),
                                arg(in.betaIdx));
}

Value LinalgDecomposer::emitDynamicScales() {
  // The scales' space: the rows, and per group the groups of a row.
  std::optional<uint64_t> groupSize = op.getGroupSize();
  SmallVector<OpFoldResult> sizes(
      ArrayRef<OpFoldResult>(inputSizes).take_front(axis));
  scalesMap = rowMap;
  if (groupSize) {
    int64_t g = static_cast<int64_t>(*groupSize);
    OpFoldResult n = inputSizes.back();
    if (std::optional<int64_t> staticN = getConstantIntValue(n)) {
      sizes.push_back(b.getIndexAttr(*staticN / g));
    } else {
      Value groups = arith::DivUIOp::create(
          b, loc, cast<Value>(n), arith::ConstantIndexOp::create(b, loc, g));
      sizes.push_back(groups);
    }
    SmallVector<AffineExpr> exprs(rowMap.getResults());
    exprs.push_back(b.getAffineDimExpr(rank - 1).floorDiv(g));
    scalesMap = AffineMap::get(rank, 0, exprs, b.getContext());
  }

  // amax of |y| over each row or group, in the compute type.
  OutputInputs in = getOutputInputs();
  Value amaxInit =
      createZeroTemporary(b, loc, onTensors, sizes, computeType, temporaries);
  Value amax = emitGeneric(in.values, in.maps, {amaxInit}, {scalesMap},
                           /*reducing=*/true,
                           [&](ValueRange args) -> SmallVector<Value> {
                             Value y = emitNormalizedElement(in, args);
                             return {createAbsMaxStep(b, loc, args.back(), y)};
                           })[0];

  // The scales, over their own space.
  int64_t scalesRank = sizes.size();
  AffineMap id = b.getMultiDimIdentityMap(scalesRank);
  SmallVector<utils::IteratorType> iterators(scalesRank,
                                             utils::IteratorType::parallel);
  Type outputElementType = op.getOutputType().getElementType();
  std::optional<APFloat> minScale = op.getMinScale();
  Value scaleUb = op.getScaleUb();
  return buildGeneric(b, loc, onTensors, {amax}, {id}, {op.getScales()}, {id},
                      iterators, [&](ValueRange args) -> SmallVector<Value> {
                        return {createDynamicScale(b, loc, args[0],
                                                   outputElementType, minScale,
                                                   scaleUb)};
                      })[0];
}

Value LinalgDecomposer::emitOutput() {
  OutputInputs in = getOutputInputs();
  Type outputElementType = op.getOutputType().getElementType();
  Value outScale;
  if (op.getOutScale())
    outScale = toCompute(op.getOutScale());
  int scalesIdx = -1;
  if (scales) {
    scalesIdx = in.values.size();
    in.values.push_back(scales);
    in.maps.push_back(scalesMap);
  }
  return emitGeneric(
      in.values, in.maps, {op.getOutput()}, {fullMap}, /*reducing=*/false,
      [&](ValueRange args) -> SmallVector<Value> {
        Value y = emitNormalizedElement(in, args);
        Value scale = outScale;
        if (scalesIdx >= 0)
          scale = toCompute(args[scalesIdx]);
        return {createOutputConversion(b, loc, y, outputElementType, scale)};
      })[0];
}

void LinalgDecomposer::setUp() {
  inputSizes = getSizes(b, loc, op.getInput());
  buildMaps();

  rowSize = createRowSize(b, loc, computeType,
                          ArrayRef<OpFoldResult>(inputSizes).drop_front(axis));
  invSqrtRowSize = createInvSqrtRowSize(b, loc, rowSize);
  eps = createEpsilon(b, loc, computeType, op.getEpsValue(), op.getEpsilon());
}

LinalgRowStatistics LinalgDecomposer::decomposeStatistics() {
  setUp();
  emitResidualSum();
  if (op.isLayerNorm())
    emitPivotAndOffset();
  emitSumsOfSquares();
  emitRstd();
  return {RowStatistics{pivot, offset, rstd}, temporaries};
}

FailureOr<SmallVector<Value>> LinalgDecomposer::decompose() {
  setUp();
  emitResidualSum();
  if (op.isLayerNorm())
    emitPivotAndOffset();
  emitSumsOfSquares();
  emitRstd();
  if (op.hasDynamicQuantization())
    scales = emitDynamicScales();
  Value out = emitOutput();

  for (Value temporary : temporaries)
    memref::DeallocOp::create(b, loc, temporary);
  if (!onTensors)
    return SmallVector<Value>();

  // Results in destination order: output, residual sum, mean, rstd.
  SmallVector<Value> results = {out};
  if (op.getResidualOutput())
    results.push_back(h);
  if (op.getMean())
    results.push_back(offset.getDefiningOp()->getResult(1));
  if (op.getRstd())
    results.push_back(rstd.getDefiningOp()->getResult(1));
  if (scales)
    results.push_back(scales);
  return results;
}

FailureOr<SmallVector<Value>>
mlir::norm::decomposeToLinalg(OpBuilder &b, NormOpInterface op) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op);
  return LinalgDecomposer(b, op).decompose();
}

LinalgRowStatistics
mlir::norm::decomposeStatisticsToLinalg(OpBuilder &b, NormOpInterface op) {
  return LinalgDecomposer(b, op).decomposeStatistics();
}

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//

namespace {
/// Builds the linalg DAG for one gradient op:
///
///   [statistics]  recomputed from x as the forward op computes them (its
///                 own stages, decomposeStatisticsToLinalg), or the saved
///                 mean (as the pivot) and rstd
///   row sums      sum(wdy), sum(wdy * xhat) over each row        (dx)
///   row means     the sums / N                                   (dx)
///   dx            rstd (wdy - mean(wdy) - xhat mean(wdy xhat)) + dr
///   column sums   sum over the rows of dy * xhat and of dy        (dgamma,
///                 dbeta), in the compute type, rounded once after
///
/// Each sum is a reduction of a generic and runs in its loops' order, the
/// same on every run.
class GradDecomposer {
public:
  GradDecomposer(OpBuilder &b, NormGradOpInterface op)
      : b(b), op(op), loc(op->getLoc()), onTensors(op.hasPureTensorSemantics()),
        rank(op.getInputType().getRank()), axis(op.getNormalizedAxis()),
        computeType(getComputeElementType(op.getInputType().getElementType())) {
  }

  FailureOr<SmallVector<Value>> decompose();

private:
  /// Sets `statistics` (and `statisticValues`, the row-shaped values that
  /// carry them into the generics).
  void emitStatistics();
  /// The per-row means of wdy (LayerNorm) and of wdy * xhat.
  SmallVector<Value> emitRowMeans();
  Value emitInputGradient(ArrayRef<Value> rowMeans);
  /// dgamma and dbeta, those requested.
  SmallVector<Value> emitParameterGradients();

  /// xhat of the element `x` (compute type) from the statistics read by the
  /// generic as `args`, starting at `firstStatistic`.
  Value normalized(Value x, ValueRange args, unsigned firstStatistic);
  Value toCompute(Value value) {
    return createFloatConversion(b, loc, value, computeType);
  }
  /// The inputs every sweep over the elements reads: x, dy, the statistics
  /// (row-mapped), and gamma (normalised-mapped) when `withGamma`.
  void appendElementInputs(SmallVectorImpl<Value> &inputs,
                           SmallVectorImpl<AffineMap> &maps, bool withGamma);
  SmallVector<utils::IteratorType> iterators(bool reduceRows,
                                             bool reduceColumns);

  OpBuilder &b;
  NormGradOpInterface op;
  Location loc;
  bool onTensors;
  int64_t rank;
  int64_t axis;
  Type computeType;
  SmallVector<OpFoldResult> sizes;
  SmallVector<Value> temporaries;
  AffineMap fullMap, rowMap, normMap;
  Value rowSize;
  RowStatistics statistics;
  SmallVector<Value> statisticValues;
};
} // namespace

SmallVector<utils::IteratorType> GradDecomposer::iterators(bool reduceRows,
                                                           bool reduceColumns) {
  SmallVector<utils::IteratorType> result;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduce = d < axis ? reduceRows : reduceColumns;
    result.push_back(reduce ? utils::IteratorType::reduction
                            : utils::IteratorType::parallel);
  }
  return result;
}

void GradDecomposer::emitStatistics() {
  if (!op.recomputesStatistics()) {
    // The saved mean is the pivot of the centring, with no offset.
    statistics = RowStatistics{op.getMean(), Value(), op.getRstd()};
  } else {
    // A forward op over x with no destinations touched stands for the
    // statistics; it is destroyed once its stages are built.
    NormOpInterface forward = createDetachedStatisticsOp(
        op, op.getInput(), op.getNormalizedAxis(), Value(), Value());
    LinalgRowStatistics recomputed = decomposeStatisticsToLinalg(b, forward);
    forward->destroy();
    statistics = recomputed.statistics;
    temporaries.append(recomputed.temporaries);
  }
  for (Value value : {statistics.pivot, statistics.offset, statistics.rstd})
    if (value)
      statisticValues.push_back(value);
}

Value GradDecomposer::normalized(Value x, ValueRange args,
                                 unsigned firstStatistic) {
  RowStatistics s;
  unsigned i = firstStatistic;
  if (statistics.pivot)
    s.pivot = toCompute(args[i++]);
  if (statistics.offset)
    s.offset = toCompute(args[i++]);
  s.rstd = toCompute(args[i]);
  return createNormalized(b, loc, x, s);
}

void GradDecomposer::appendElementInputs(SmallVectorImpl<Value> &inputs,
                                         SmallVectorImpl<AffineMap> &maps,
                                         bool withGamma) {
  inputs.append({op.getInput(), op.getOutputGrad()});
  maps.append({fullMap, fullMap});
  for (Value value : statisticValues) {
    inputs.push_back(value);
    maps.push_back(rowMap);
  }
  if (withGamma && op.getGamma()) {
    inputs.push_back(op.getGamma());
    maps.push_back(normMap);
  }
}

SmallVector<Value> GradDecomposer::emitRowMeans() {
  SmallVector<Value> inputs;
  SmallVector<AffineMap> inMaps;
  appendElementInputs(inputs, inMaps, /*withGamma=*/true);
  unsigned numSums = op.isLayerNorm() ? 2 : 1;
  ArrayRef<OpFoldResult> rowSizes =
      ArrayRef<OpFoldResult>(sizes).take_front(axis);
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numSums; ++i)
    inits.push_back(createZeroTemporary(b, loc, onTensors, rowSizes,
                                        computeType, temporaries));
  bool hasGamma = static_cast<bool>(op.getGamma());
  SmallVector<Value> sums = buildGeneric(
      b, loc, onTensors, inputs, inMaps, inits,
      SmallVector<AffineMap>(numSums, rowMap),
      iterators(/*reduceRows=*/false, /*reduceColumns=*/true),
      [&](ValueRange args) -> SmallVector<Value> {
        Value x = toCompute(args[0]);
        Value dy = toCompute(args[1]);
        Value xhat = normalized(x, args, 2);
        Value gamma = hasGamma ? args[2 + statisticValues.size()] : Value();
        Value wdy = createGradientProduct(b, loc, dy, gamma);
        ValueRange accumulators = args.take_back(numSums);
        Value dot = arith::MulFOp::create(b, loc, wdy, xhat);
        SmallVector<Value> yields;
        if (op.isLayerNorm())
          yields.push_back(arith::AddFOp::create(b, loc, accumulators[0], wdy));
        yields.push_back(
            arith::AddFOp::create(b, loc, accumulators.back(), dot));
        return yields;
      });

  // The means, one division a row.
  SmallVector<Value> meanInits;
  for (unsigned i = 0; i < numSums; ++i)
    meanInits.push_back(createTemporaryOfSizes(b, loc, onTensors, rowSizes,
                                               computeType, temporaries));
  AffineMap id = b.getMultiDimIdentityMap(axis);
  SmallVector<utils::IteratorType> rowIterators(axis,
                                                utils::IteratorType::parallel);
  return buildGeneric(
      b, loc, onTensors, sums, SmallVector<AffineMap>(numSums, id), meanInits,
      SmallVector<AffineMap>(numSums, id), rowIterators,
      [&](ValueRange args) -> SmallVector<Value> {
        SmallVector<Value> means;
        for (unsigned i = 0; i < numSums; ++i)
          means.push_back(createRowMean(b, loc, args[i], rowSize));
        return means;
      });
}

Value GradDecomposer::emitInputGradient(ArrayRef<Value> rowMeans) {
  SmallVector<Value> inputs;
  SmallVector<AffineMap> inMaps;
  appendElementInputs(inputs, inMaps, /*withGamma=*/true);
  unsigned firstMean = inputs.size();
  for (Value mean : rowMeans) {
    inputs.push_back(mean);
    inMaps.push_back(rowMap);
  }
  Value residualGrad = op.getResidualGrad();
  if (residualGrad) {
    inputs.push_back(residualGrad);
    inMaps.push_back(fullMap);
  }
  Value init = op.getInputGradInit();
  Type dxType = getElementTypeOrSelf(init);
  bool hasGamma = static_cast<bool>(op.getGamma());
  return buildGeneric(
      b, loc, onTensors, inputs, inMaps, {init}, {fullMap},
      iterators(/*reduceRows=*/false, /*reduceColumns=*/false),
      [&](ValueRange args) -> SmallVector<Value> {
        Value x = toCompute(args[0]);
        Value dy = toCompute(args[1]);
        Value xhat = normalized(x, args, 2);
        Value gamma = hasGamma ? args[2 + statisticValues.size()] : Value();
        Value wdy = createGradientProduct(b, loc, dy, gamma);
        Value rstd = toCompute(args[1 + statisticValues.size()]);
        Value meanGradient = op.isLayerNorm() ? args[firstMean] : Value();
        Value dx = createInputGradient(b, loc, wdy, xhat, rstd, meanGradient,
                                       args[firstMean + rowMeans.size() - 1]);
        if (residualGrad)
          dx = arith::AddFOp::create(
              b, loc, dx, toCompute(args[firstMean + rowMeans.size()]));
        return {createFloatConversion(b, loc, dx, dxType)};
      })[0];
}

SmallVector<Value> GradDecomposer::emitParameterGradients() {
  Value gammaInit = op.getGammaGradInit();
  Value betaInit = op.getBetaGradInit();
  SmallVector<Value> inputs;
  SmallVector<AffineMap> inMaps;
  appendElementInputs(inputs, inMaps, /*withGamma=*/false);
  ArrayRef<OpFoldResult> columnSizes =
      ArrayRef<OpFoldResult>(sizes).drop_front(axis);
  SmallVector<Value> inits;
  SmallVector<Value> finals;
  for (Value init : {gammaInit, betaInit}) {
    if (!init)
      continue;
    inits.push_back(createZeroTemporary(b, loc, onTensors, columnSizes,
                                        computeType, temporaries));
    finals.push_back(init);
  }
  SmallVector<Value> sums = buildGeneric(
      b, loc, onTensors, inputs, inMaps, inits,
      SmallVector<AffineMap>(inits.size(), normMap),
      iterators(/*reduceRows=*/true, /*reduceColumns=*/false),
      [&](ValueRange args) -> SmallVector<Value> {
        Value dy = toCompute(args[1]);
        ValueRange accumulators = args.take_back(inits.size());
        SmallVector<Value> yields;
        if (gammaInit) {
          Value xhat = normalized(toCompute(args[0]), args, 2);
          Value term = arith::MulFOp::create(b, loc, dy, xhat);
          yields.push_back(
              arith::AddFOp::create(b, loc, accumulators[0], term));
        }
        if (betaInit)
          yields.push_back(
              arith::AddFOp::create(b, loc, accumulators.back(), dy));
        return yields;
      });

  // Rounded once into the destinations.
  int64_t numColumns = rank - axis;
  AffineMap id = b.getMultiDimIdentityMap(numColumns);
  return buildGeneric(
      b, loc, onTensors, sums, SmallVector<AffineMap>(sums.size(), id), finals,
      SmallVector<AffineMap>(finals.size(), id),
      SmallVector<utils::IteratorType>(numColumns,
                                       utils::IteratorType::parallel),
      [&](ValueRange args) -> SmallVector<Value> {
        SmallVector<Value> yields;
        for (unsigned i = 0, e = finals.size(); i < e; ++i)
          yields.push_back(
              createFloatConversion(b, loc, args[i], args[e + i].getType()));
        return yields;
      });
}

FailureOr<SmallVector<Value>> GradDecomposer::decompose() {
  sizes = getSizes(b, loc, op.getInput());
  RowMaps maps = getRowMaps(b, rank, axis);
  fullMap = maps.full;
  rowMap = maps.rows;
  normMap = maps.normalized;
  rowSize = createRowSize(b, loc, computeType,
                          ArrayRef<OpFoldResult>(sizes).drop_front(axis));

  emitStatistics();
  SmallVector<Value> results;
  if (op.getInputGradInit())
    results.push_back(emitInputGradient(emitRowMeans()));
  if (op.getGammaGradInit() || op.getBetaGradInit())
    llvm::append_range(results, emitParameterGradients());

  for (Value temporary : temporaries)
    memref::DeallocOp::create(b, loc, temporary);
  if (!onTensors)
    return SmallVector<Value>();
  return results;
}

FailureOr<SmallVector<Value>>
mlir::norm::decomposeGradToLinalg(OpBuilder &b, NormGradOpInterface op) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op);
  return GradDecomposer(b, op).decompose();
}
