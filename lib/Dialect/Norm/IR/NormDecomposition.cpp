//===- NormDecomposition.cpp - Norm ops as a DAG of linalg.generic --------===//
//
// The reference semantics of the norm ops, as `linalg.generic`s. This is
// `AggregatedOpInterface::decomposeOperation` and the body of
// `--convert-norm-to-linalg`; every other lowering is checked against it.
//
// For a row `h` of N elements (in the compute type: f32, or f64 for f64):
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

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

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

private:
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
  /// Converts a float scalar to `type` (extension or truncation).
  Value convert(Value value, Type type);
  /// The scalar epsilon in the compute type.
  Value getEpsilon();
  /// N, the number of normalised elements per row, in the compute type.
  Value getRowSize();
  /// Converts the compute-type output value `y` to the output element type:
  /// a rounding conversion, or, given `outScale` (in the compute type),
  /// quantisation.
  Value convertOutput(Value y, Type outputElementType, Value outScale);
  /// A scalar constant of the compute type.
  Value computeConstant(double value);

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
};
} // namespace

Value LinalgDecomposer::convert(Value value, Type type) {
  unsigned from = value.getType().getIntOrFloatBitWidth();
  unsigned to = type.getIntOrFloatBitWidth();
  if (value.getType() == type)
    return value;
  if (from < to)
    return arith::ExtFOp::create(b, loc, type, value);
  if (from > to)
    return arith::TruncFOp::create(b, loc, type, value);
  // Same width, different format (f16 <-> bf16): go through f32.
  Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  return arith::TruncFOp::create(b, loc, type, wide);
}

Value LinalgDecomposer::createTemporary(bool rowShaped, Type elementType) {
  ArrayRef<OpFoldResult> sizes = inputSizes;
  if (rowShaped)
    sizes = sizes.take_front(axis);
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

Value LinalgDecomposer::createZeroAccumulator() {
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(computeType));
  Value init = createTemporary(/*rowShaped=*/true, computeType);
  auto fill = linalg::FillOp::create(b, loc, zero, init);
  return onTensors ? fill.getResult(0) : init;
}

SmallVector<Value> LinalgDecomposer::emitGeneric(ValueRange inputs,
                                                 ArrayRef<AffineMap> inMaps,
                                                 ValueRange outputs,
                                                 ArrayRef<AffineMap> outMaps,
                                                 bool reducing,
                                                 BodyBuilder body) {
  unsigned numLoops = inMaps.empty() ? outMaps.front().getNumDims()
                                     : inMaps.front().getNumDims();
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  if (reducing)
    for (unsigned i = axis; i < numLoops; ++i)
      iterators[i] = utils::IteratorType::reduction;
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

Value LinalgDecomposer::getEpsilon() {
  if (Value eps = op.getEpsValue())
    return convert(eps, computeType);
  APFloat epsilon = *op.getEpsilon();
  bool losesInfo;
  epsilon.convert(cast<FloatType>(computeType).getFloatSemantics(),
                  APFloat::rmNearestTiesToEven, &losesInfo);
  return arith::ConstantOp::create(b, loc, FloatAttr::get(computeType, epsilon));
}

Value LinalgDecomposer::getRowSize() {
  ArrayRef<int64_t> shape = op.getInputType().getShape().drop_front(axis);
  if (!ShapedType::isDynamicShape(shape)) {
    double n = ShapedType::getNumElements(shape);
    return arith::ConstantOp::create(b, loc,
                                     b.getFloatAttr(computeType, n));
  }
  Value n;
  for (OpFoldResult size : ArrayRef(inputSizes).drop_front(axis)) {
    Value dim = getValueOrCreateConstantIndexOp(b, loc, size);
    n = n ? arith::MulIOp::create(b, loc, n, dim).getResult() : dim;
  }
  Value n64 = arith::IndexCastUIOp::create(b, loc, b.getI64Type(), n);
  return arith::UIToFPOp::create(b, loc, computeType, n64);
}

Value LinalgDecomposer::computeConstant(double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(computeType, value));
}

Value LinalgDecomposer::convertOutput(Value y, Type outputElementType,
                                      Value outScale) {
  if (!outScale)
    return convert(y, outputElementType);
  Value q = arith::DivFOp::create(b, loc, y, outScale);
  if (isa<FloatType>(outputElementType)) {
    // f8E4M3FN: saturate to the largest finite value, then round once.
    q = arith::MaximumFOp::create(b, loc, q, computeConstant(-448.0));
    q = arith::MinimumFOp::create(b, loc, q, computeConstant(448.0));
    return arith::TruncFOp::create(b, loc, outputElementType, q);
  }
  // i8: round half to even, saturate, and send NaN to 0.
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, q, q);
  q = math::RoundEvenOp::create(b, loc, q);
  q = arith::MaximumFOp::create(b, loc, q, computeConstant(-128.0));
  q = arith::MinimumFOp::create(b, loc, q, computeConstant(127.0));
  q = arith::SelectOp::create(b, loc, isNan, computeConstant(0.0), q);
  return arith::FPToSIOp::create(b, loc, outputElementType, q);
}

FailureOr<SmallVector<Value>> LinalgDecomposer::decompose() {
  if (onTensors)
    inputSizes = tensor::getMixedSizes(b, loc, op.getInput());
  else
    inputSizes = memref::getMixedSizes(b, loc, op.getInput());

  MLIRContext *ctx = b.getContext();
  AffineMap fullMap = b.getMultiDimIdentityMap(rank);
  SmallVector<AffineExpr> rowExprs, normExprs, pivotExprs;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) {
      rowExprs.push_back(b.getAffineDimExpr(d));
      pivotExprs.push_back(b.getAffineDimExpr(d));
    } else {
      normExprs.push_back(b.getAffineDimExpr(d));
      pivotExprs.push_back(b.getAffineConstantExpr(0));
    }
  }
  AffineMap rowMap = AffineMap::get(rank, 0, rowExprs, ctx);
  AffineMap normMap = AffineMap::get(rank, 0, normExprs, ctx);
  AffineMap pivotMap = AffineMap::get(rank, 0, pivotExprs, ctx);

  Value n = getRowSize();
  Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(computeType, 1));
  Value scale = arith::DivFOp::create(
      b, loc, one, math::SqrtOp::create(b, loc, n));
  Value eps = getEpsilon();

  SmallVector<Value> results;

  // h = input (+ residual), rounded to the input's element type.
  Value h = op.getInput();
  if (Value residual = op.getResidual()) {
    Value sumInit = op.getResidualOutput();
    if (!sumInit)
      sumInit = createTemporary(/*rowShaped=*/false, inputElementType);
    h = emitGeneric({op.getInput(), residual}, {fullMap, fullMap}, {sumInit},
                    {fullMap}, /*reducing=*/false,
                    [&](ValueRange args) -> SmallVector<Value> {
                      Value x = convert(args[0], computeType);
                      Value r = convert(args[1], computeType);
                      Value sum = arith::AddFOp::create(b, loc, x, r);
                      return {convert(sum, inputElementType)};
                    })[0];
  }

  // Per-row pivot p and offset d = mean - p (LayerNorm only).
  Value pivot, offset;
  if (op.isLayerNorm()) {
    Value pivotInit = createTemporary(/*rowShaped=*/true, computeType);
    SmallVector<Value> pivotAndSum = emitGeneric(
        {h, h}, {fullMap, pivotMap}, {pivotInit, createZeroAccumulator()},
        {rowMap, rowMap}, /*reducing=*/true,
        [&](ValueRange args) -> SmallVector<Value> {
          Value x = convert(args[0], computeType);
          // A non-finite first element pivots at 0 instead, so that a row
          // holding inf gets its IEEE mean, not inf - inf.
          Value first = convert(args[1], computeType);
          double infinity = std::numeric_limits<double>::infinity();
          Value inf = arith::ConstantOp::create(
              b, loc, b.getFloatAttr(computeType, infinity));
          Value negInf = arith::ConstantOp::create(
              b, loc, b.getFloatAttr(computeType, -infinity));
          Value belowInf = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OLT, first, inf);
          Value aboveNegInf = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OGT, first, negInf);
          Value isFinite = arith::AndIOp::create(b, loc, belowInf, aboveNegInf);
          Value zero =
              arith::ConstantOp::create(b, loc, b.getZeroAttr(computeType));
          Value p = arith::SelectOp::create(b, loc, isFinite, first, zero);
          Value shifted = arith::SubFOp::create(b, loc, x, p);
          return {p, arith::AddFOp::create(b, loc, args[3], shifted)};
        });
    pivot = pivotAndSum[0];
    SmallVector<Value> outs = {createTemporary(true, computeType)};
    if (Value meanInit = op.getMean())
      outs.push_back(meanInit);
    offset = emitRowGeneric(
        pivotAndSum, outs, [&](ValueRange args) -> SmallVector<Value> {
          Value d = arith::DivFOp::create(b, loc, args[1], n);
          SmallVector<Value> yields = {d};
          if (args.size() > 3)
            yields.push_back(convert(arith::AddFOp::create(b, loc, args[0], d),
                                     args[3].getType()));
          return yields;
        })[0];
  }
  // (h - p) - d, the centred element, for LayerNorm.
  auto centre = [&](Value x, Value p, Value d) -> Value {
    return arith::SubFOp::create(b, loc, arith::SubFOp::create(b, loc, x, p),
                                 d);
  };

  // Per-row (scaled) sum of squares: var for LayerNorm, mean square for RMS.
  // With the tiny-row rescue, also the sum of squares of the elements
  // multiplied by its power of two first.
  std::optional<TinyRowRescue> rescue = getTinyRowRescue(op);
  TinyRowRescueValues rescueValues;
  if (rescue)
    rescueValues = createTinyRowRescueValues(b, loc, *rescue, eps,
                                             /*runTimeEps=*/!!op.getEpsValue());
  SmallVector<Value> sqInputs = {h};
  SmallVector<AffineMap> sqMaps = {fullMap};
  if (pivot) {
    sqInputs.append({pivot, offset});
    sqMaps.append({rowMap, rowMap});
  }
  SmallVector<Value> sqInits = {createZeroAccumulator()};
  if (rescue)
    sqInits.push_back(createZeroAccumulator());
  SmallVector<Value> sums = emitGeneric(
      sqInputs, sqMaps, sqInits, SmallVector<AffineMap>(sqInits.size(), rowMap),
      /*reducing=*/true, [&](ValueRange args) -> SmallVector<Value> {
        Value x = convert(args[0], computeType);
        if (pivot)
          x = centre(x, args[1], args[2]);
        auto square = [&](Value value) -> Value {
          Value t = arith::MulFOp::create(b, loc, value, scale);
          return arith::MulFOp::create(b, loc, t, t);
        };
        ValueRange accumulators = args.take_back(sqInits.size());
        SmallVector<Value> yields = {
            arith::AddFOp::create(b, loc, accumulators[0], square(x))};
        if (rescue)
          yields.push_back(arith::AddFOp::create(
              b, loc, accumulators[1],
              square(arith::MulFOp::create(b, loc, x, rescueValues.scale))));
        return yields;
      });

  // rstd = 1/sqrt(sumSq + eps); NaN for a row whose mean square overflowed
  // to +inf (only a non-finite input can do that). A row with a tiny sumSq
  // takes the rescued rstd instead.
  SmallVector<Value> rstdOuts = {createTemporary(true, computeType)};
  if (Value rstdInit = op.getRstd())
    rstdOuts.push_back(rstdInit);
  Value rstd = emitRowGeneric(
      sums, rstdOuts, [&](ValueRange args) -> SmallVector<Value> {
        Value sumSq = args[0];
        Value sum = arith::AddFOp::create(b, loc, sumSq, eps);
        Value r = math::RsqrtOp::create(b, loc, sum);
        const llvm::fltSemantics &sem =
            cast<FloatType>(computeType).getFloatSemantics();
        Value inf = arith::ConstantOp::create(
            b, loc, b.getFloatAttr(computeType, APFloat::getInf(sem)));
        Value nan = arith::ConstantOp::create(
            b, loc, b.getFloatAttr(computeType, APFloat::getNaN(sem)));
        Value isInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                            sumSq, inf);
        r = arith::SelectOp::create(b, loc, isInf, nan, r);
        if (rescue) {
          Value tiny = createIsTinyRow(b, loc, rescueValues, sumSq);
          Value rescued = arith::MulFOp::create(
              b, loc, rescueValues.scale,
              math::RsqrtOp::create(b, loc,
                                    arith::AddFOp::create(
                                        b, loc, args[1],
                                        rescueValues.scaledEps)));
          r = arith::SelectOp::create(b, loc, tiny, rescued, r);
        }
        SmallVector<Value> yields = {r};
        if (rstdOuts.size() > 1)
          yields.push_back(convert(r, args.back().getType()));
        return yields;
      })[0];

  // out = ((h - p) - d) * rstd * gamma + beta.
  SmallVector<Value> outInputs = {h, rstd};
  SmallVector<AffineMap> outMaps = {fullMap, rowMap};
  int pivotIdx = -1, gammaIdx = -1, betaIdx = -1;
  if (pivot) {
    pivotIdx = outInputs.size();
    outInputs.append({pivot, offset});
    outMaps.append({rowMap, rowMap});
  }
  if (Value gamma = op.getGamma()) {
    gammaIdx = outInputs.size();
    outInputs.push_back(gamma);
    outMaps.push_back(normMap);
  }
  if (Value beta = op.getBeta()) {
    betaIdx = outInputs.size();
    outInputs.push_back(beta);
    outMaps.push_back(normMap);
  }
  Type outputElementType = op.getOutputType().getElementType();
  Value outScale;
  if (op.getOutScale())
    outScale = convert(op.getOutScale(), computeType);
  Value out = emitGeneric(
      outInputs, outMaps, {op.getOutput()}, {fullMap}, /*reducing=*/false,
      [&](ValueRange args) -> SmallVector<Value> {
        Value y = convert(args[0], computeType);
        if (pivotIdx >= 0)
          y = centre(y, args[pivotIdx], args[pivotIdx + 1]);
        y = arith::MulFOp::create(b, loc, y, args[1]);
        if (gammaIdx >= 0)
          y = arith::MulFOp::create(b, loc, y,
                                    convert(args[gammaIdx], computeType));
        if (betaIdx >= 0)
          y = arith::AddFOp::create(b, loc, y,
                                    convert(args[betaIdx], computeType));
        return {convertOutput(y, outputElementType, outScale)};
      })[0];

  for (Value temporary : temporaries)
    memref::DeallocOp::create(b, loc, temporary);
  if (!onTensors)
    return SmallVector<Value>();

  // Results in destination order: output, residual sum, mean, rstd.
  results.push_back(out);
  if (op.getResidualOutput())
    results.push_back(h);
  if (op.getMean())
    results.push_back(offset.getDefiningOp()->getResult(1));
  if (op.getRstd())
    results.push_back(rstd.getDefiningOp()->getResult(1));
  return results;
}

FailureOr<SmallVector<Value>> mlir::norm::decomposeToLinalg(OpBuilder &b,
                                                            NormOpInterface op) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op);
  return LinalgDecomposer(b, op).decompose();
}
