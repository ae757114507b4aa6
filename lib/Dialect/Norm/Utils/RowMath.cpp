//===- RowMath.cpp - The arithmetic of one row of a norm op ---------------===//
//
// Every function creates its ops in statement order, one op-creating call
// per statement, so that the IR does not depend on the order in which the
// C++ compiler evaluates a call's arguments.
//
//===----------------------------------------------------------------------===//

#include "norm/Dialect/Norm/Utils/RowMath.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::norm;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

Type mlir::norm::getComputeElementType(Type elementType) {
  if (elementType.isF64())
    return elementType;
  return Float32Type::get(elementType.getContext());
}

bool mlir::norm::isQuantizedElementType(Type elementType) {
  return elementType.isSignlessInteger(8) || isa<Float8E4M3FNType>(elementType);
}

bool mlir::norm::isLowerableElementType(Type elementType,
                                        bool isQuantizedOutput) {
  if (elementType.isF16() || elementType.isBF16() || elementType.isF32() ||
      elementType.isF64())
    return true;
  return isQuantizedOutput && isQuantizedElementType(elementType);
}

//===----------------------------------------------------------------------===//
// Constants and conversions
//===----------------------------------------------------------------------===//

/// `type` (a scalar or a vector) with the element type `elementType`.
static Type withElementType(Type type, Type elementType) {
  if (auto vectorType = dyn_cast<VectorType>(type))
    return vectorType.clone(elementType);
  return elementType;
}

/// A constant of the float scalar or vector type `type` holding `value`
/// (the attribute of a scalar, splat for a vector).
static Value createFloatConstant(OpBuilder &b, Location loc, Type type,
                                 FloatAttr value) {
  auto vectorType = dyn_cast<VectorType>(type);
  if (!vectorType)
    return arith::ConstantOp::create(b, loc, value);
  return arith::ConstantOp::create(b, loc, vectorType,
                                   DenseElementsAttr::get(vectorType, value));
}

Value mlir::norm::createFloatConstant(OpBuilder &b, Location loc, Type type,
                                      double value) {
  return ::createFloatConstant(
      b, loc, type, b.getFloatAttr(getElementTypeOrSelf(type), value));
}

Value mlir::norm::createFloatConversion(OpBuilder &b, Location loc, Value value,
                                        Type elementType) {
  Type type = value.getType();
  Type from = getElementTypeOrSelf(type);
  if (from == elementType)
    return value;
  unsigned fromBits = from.getIntOrFloatBitWidth();
  unsigned toBits = elementType.getIntOrFloatBitWidth();
  if (fromBits < toBits)
    return arith::ExtFOp::create(b, loc, withElementType(type, elementType),
                                 value);
  if (fromBits > toBits)
    return arith::TruncFOp::create(b, loc, withElementType(type, elementType),
                                   value);
  // Same width, different format (f16 <-> bf16): through f32.
  Value wide = arith::ExtFOp::create(
      b, loc, withElementType(type, b.getF32Type()), value);
  return arith::TruncFOp::create(b, loc, withElementType(type, elementType),
                                 wide);
}

FloatAttr mlir::norm::getEpsilonAttr(Type computeType, APFloat epsilon) {
  bool losesInfo;
  epsilon.convert(cast<FloatType>(computeType).getFloatSemantics(),
                  APFloat::rmNearestTiesToEven, &losesInfo);
  return FloatAttr::get(computeType, epsilon);
}

Value mlir::norm::createEpsilon(OpBuilder &b, Location loc, Type computeType,
                                Value epsValue,
                                std::optional<APFloat> epsilon) {
  if (epsValue)
    return createFloatConversion(b, loc, epsValue, computeType);
  return arith::ConstantOp::create(b, loc,
                                   getEpsilonAttr(computeType, *epsilon));
}

FloatAttr mlir::norm::getRowSizeAttr(Type computeType, int64_t rowSize) {
  return FloatAttr::get(computeType, static_cast<double>(rowSize));
}

Value mlir::norm::createRowSize(OpBuilder &b, Location loc, Type computeType,
                                ArrayRef<OpFoldResult> normalizedSizes) {
  if (llvm::all_of(normalizedSizes,
                   [](OpFoldResult size) { return isa<Attribute>(size); })) {
    int64_t n = 1;
    for (OpFoldResult size : normalizedSizes)
      n *= *getConstantIntValue(size);
    return arith::ConstantOp::create(b, loc, getRowSizeAttr(computeType, n));
  }
  Value n;
  for (OpFoldResult size : normalizedSizes) {
    Value dim = getValueOrCreateConstantIndexOp(b, loc, size);
    n = n ? arith::MulIOp::create(b, loc, n, dim).getResult() : dim;
  }
  return createRowSizeFromIndex(b, loc, computeType, n);
}

Value mlir::norm::createRowSizeFromIndex(OpBuilder &b, Location loc,
                                         Type computeType, Value numElements) {
  Value n64 = arith::IndexCastUIOp::create(b, loc, b.getI64Type(), numElements);
  return arith::UIToFPOp::create(b, loc, computeType, n64);
}

Value mlir::norm::createInvSqrtRowSize(OpBuilder &b, Location loc,
                                       Value rowSize) {
  Value one = createFloatConstant(b, loc, rowSize.getType(), 1.0);
  Value root = math::SqrtOp::create(b, loc, rowSize);
  return arith::DivFOp::create(b, loc, one, root);
}

FloatAttr mlir::norm::getInvSqrtRowSizeAttr(Type computeType, int64_t rowSize) {
  double c =
      computeType.isF64()
          ? 1.0 / std::sqrt(static_cast<double>(rowSize))
          : static_cast<double>(1.0f / std::sqrt(static_cast<float>(rowSize)));
  return FloatAttr::get(computeType, c);
}

FloatAttr mlir::norm::getInvRowSizeAttr(Type computeType, int64_t rowSize) {
  double inverse =
      computeType.isF64()
          ? 1.0 / static_cast<double>(rowSize)
          : static_cast<double>(1.0f / static_cast<float>(rowSize));
  return FloatAttr::get(computeType, inverse);
}

//===----------------------------------------------------------------------===//
// Statistics
//===----------------------------------------------------------------------===//

Value mlir::norm::createFinitePivot(OpBuilder &b, Location loc, Value first) {
  Type type = first.getType();
  double infinity = std::numeric_limits<double>::infinity();
  Value inf = createFloatConstant(b, loc, type, infinity);
  Value negInf = createFloatConstant(b, loc, type, -infinity);
  Value belowInf =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, first, inf);
  Value aboveNegInf =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, first, negInf);
  Value isFinite = arith::AndIOp::create(b, loc, belowInf, aboveNegInf);
  Value zero = createFloatConstant(b, loc, type, 0.0);
  return arith::SelectOp::create(b, loc, isFinite, first, zero);
}

Value mlir::norm::createPivoted(OpBuilder &b, Location loc, Value h,
                                Value pivot) {
  return arith::SubFOp::create(b, loc, h, pivot);
}

Value mlir::norm::createOffset(OpBuilder &b, Location loc, Value pivotedSum,
                               Value rowSize) {
  return createRowMean(b, loc, pivotedSum, rowSize);
}

Value mlir::norm::createOffsetFromReciprocal(OpBuilder &b, Location loc,
                                             Value pivotedSum,
                                             Value invRowSize) {
  return arith::MulFOp::create(b, loc, pivotedSum, invRowSize);
}

Value mlir::norm::createInvRowSizeFromInvSqrt(OpBuilder &b, Location loc,
                                              Value invSqrtRowSize) {
  return arith::MulFOp::create(b, loc, invSqrtRowSize, invSqrtRowSize);
}

Value mlir::norm::createRowMean(OpBuilder &b, Location loc, Value sum,
                                Value rowSize) {
  return arith::DivFOp::create(b, loc, sum, rowSize);
}

Value mlir::norm::createMean(OpBuilder &b, Location loc, Value pivot,
                             Value offset) {
  return arith::AddFOp::create(b, loc, pivot, offset);
}

Value mlir::norm::createCentred(OpBuilder &b, Location loc, Value h,
                                Value pivot, Value offset) {
  if (!pivot)
    return h;
  Value pivoted = createPivoted(b, loc, h, pivot);
  if (!offset)
    return pivoted;
  return arith::SubFOp::create(b, loc, pivoted, offset);
}

Value mlir::norm::createScaledElement(OpBuilder &b, Location loc, Value x,
                                      Value invSqrtRowSize, Value rescueScale) {
  if (rescueScale)
    x = arith::MulFOp::create(b, loc, x, rescueScale);
  return arith::MulFOp::create(b, loc, x, invSqrtRowSize);
}

/// lhs * rhs, with `flags` when there are any (otherwise built as an op
/// without them always has been).
static Value createMul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       arith::FastMathFlags flags) {
  if (flags == arith::FastMathFlags::none)
    return arith::MulFOp::create(b, loc, lhs, rhs);
  return arith::MulFOp::create(b, loc, lhs, rhs, flags);
}

/// lhs + rhs, with `flags` when there are any.
static Value createAdd(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       arith::FastMathFlags flags) {
  if (flags == arith::FastMathFlags::none)
    return arith::AddFOp::create(b, loc, lhs, rhs);
  return arith::AddFOp::create(b, loc, lhs, rhs, flags);
}

Value mlir::norm::createScaledCentred(OpBuilder &b, Location loc, Value pivoted,
                                      Value invSqrtRowSize,
                                      Value scaledOffset) {
  Value negated = arith::NegFOp::create(b, loc, scaledOffset);
  return math::FmaOp::create(b, loc, pivoted, invSqrtRowSize, negated);
}

Value mlir::norm::createSquare(OpBuilder &b, Location loc, Value t,
                               arith::FastMathFlags flags) {
  return createMul(b, loc, t, t, flags);
}

Value mlir::norm::createScaledSquare(OpBuilder &b, Location loc, Value x,
                                     Value invSqrtRowSize, Value rescueScale,
                                     arith::FastMathFlags flags) {
  Value t = createScaledElement(b, loc, x, invSqrtRowSize, rescueScale);
  return createSquare(b, loc, t, flags);
}

OnePassVariance mlir::norm::createOnePassVariance(OpBuilder &b, Location loc,
                                                  Value pivotedSquares,
                                                  Value offset) {
  Value offsetSquared = arith::MulFOp::create(b, loc, offset, offset);
  Value variance = arith::SubFOp::create(b, loc, pivotedSquares, offsetSquared);
  Value fraction =
      createFloatConstant(b, loc, pivotedSquares.getType(), 15.0 / 16.0);
  Value bound = arith::MulFOp::create(b, loc, pivotedSquares, fraction);
  Value isAccurate = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE,
                                           offsetSquared, bound);
  return {variance, isAccurate};
}

//===----------------------------------------------------------------------===//
// rstd
//===----------------------------------------------------------------------===//

Value mlir::norm::createReciprocalSqrt(OpBuilder &b, Location loc, Value x,
                                       RsqrtKind kind) {
  if (kind == RsqrtKind::Rsqrt)
    return math::RsqrtOp::create(b, loc, x);
  if (kind == RsqrtKind::Approximate && getElementTypeOrSelf(x).isF32())
    return math::RsqrtOp::create(b, loc, x, arith::FastMathFlags::afn);
  Value one = createFloatConstant(b, loc, x.getType(), 1.0);
  Value root = math::SqrtOp::create(b, loc, x);
  return arith::DivFOp::create(b, loc, one, root);
}

Value mlir::norm::createRstd(OpBuilder &b, Location loc, Value sumOfSquares,
                             Value eps, RsqrtKind kind) {
  Value sum = arith::AddFOp::create(b, loc, sumOfSquares, eps);
  Value rstd = createReciprocalSqrt(b, loc, sum, kind);
  Type type = sumOfSquares.getType();
  auto elementType = cast<FloatType>(getElementTypeOrSelf(type));
  const llvm::fltSemantics &semantics = elementType.getFloatSemantics();
  Value inf = ::createFloatConstant(
      b, loc, type, FloatAttr::get(elementType, APFloat::getInf(semantics)));
  Value nan = ::createFloatConstant(
      b, loc, type, FloatAttr::get(elementType, APFloat::getNaN(semantics)));
  Value overflowed = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                           sumOfSquares, inf);
  return arith::SelectOp::create(b, loc, overflowed, nan, rstd);
}

Value mlir::norm::createUnscaledRstd(OpBuilder &b, Location loc, Value rstd,
                                     Value rowSize, Value invSqrtRowSize) {
  Value sqrtRowSize =
      b.createOrFold<arith::MulFOp>(loc, rowSize, invSqrtRowSize);
  return arith::MulFOp::create(b, loc, rstd, sqrtRowSize);
}

std::optional<TinyRowRescue>
mlir::norm::getTinyRowRescue(Type computeType, std::optional<APFloat> epsilon) {
  const llvm::fltSemantics &semantics =
      cast<FloatType>(computeType).getFloatSemantics();
  // With emin the smallest normal exponent (-126 in f32): threshold
  // 2^(emin + 26), scale 2^-(emin + 26), epsBound 2^(emin + 52).
  int minExponent = APFloat::semanticsMinExponent(semantics);
  APFloat one(semantics, 1);
  auto power = [&](int exponent) {
    return scalbn(one, exponent, APFloat::rmNearestTiesToEven);
  };
  TinyRowRescue rescue{power(minExponent + 26), power(-(minExponent + 26)),
                       power(minExponent + 52)};
  if (epsilon) {
    bool losesInfo;
    epsilon->convert(semantics, APFloat::rmNearestTiesToEven, &losesInfo);
    if (epsilon->compare(rescue.epsBound) != APFloat::cmpLessThan)
      return std::nullopt;
  }
  return rescue;
}

TinyRowRescueValues
mlir::norm::createTinyRowRescueValues(OpBuilder &b, Location loc,
                                      const TinyRowRescue &rescue, Value eps,
                                      bool runTimeEps) {
  auto constant = [&](const APFloat &value) -> Value {
    return arith::ConstantOp::create(b, loc,
                                     FloatAttr::get(eps.getType(), value));
  };
  TinyRowRescueValues values;
  values.scale = constant(rescue.scale);
  values.threshold = constant(rescue.threshold);
  Value epsTimesScale = arith::MulFOp::create(b, loc, eps, values.scale);
  values.scaledEps = arith::MulFOp::create(b, loc, epsTimesScale, values.scale);
  if (runTimeEps) {
    Value bound = constant(rescue.epsBound);
    values.epsIsSmall =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, eps, bound);
  }
  return values;
}

Value mlir::norm::createIsTinyRow(OpBuilder &b, Location loc,
                                  const TinyRowRescueValues &rescue,
                                  Value sumOfSquares) {
  Value tiny = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                     sumOfSquares, rescue.threshold);
  if (rescue.epsIsSmall)
    tiny = arith::AndIOp::create(b, loc, tiny, rescue.epsIsSmall);
  return tiny;
}

Value mlir::norm::createRescuedRstd(OpBuilder &b, Location loc,
                                    const TinyRowRescueValues &rescue,
                                    Value rescaledSumOfSquares,
                                    RsqrtKind kind) {
  Value sum =
      arith::AddFOp::create(b, loc, rescaledSumOfSquares, rescue.scaledEps);
  if (kind != RsqrtKind::SqrtThenDivide) {
    Value rsqrt = createReciprocalSqrt(b, loc, sum, kind);
    return arith::MulFOp::create(b, loc, rescue.scale, rsqrt);
  }
  Value root = math::SqrtOp::create(b, loc, sum);
  return arith::DivFOp::create(b, loc, rescue.scale, root);
}

//===----------------------------------------------------------------------===//
// The output
//===----------------------------------------------------------------------===//

Value mlir::norm::createNormalized(OpBuilder &b, Location loc, Value h,
                                   const RowStatistics &statistics) {
  Value x = createCentred(b, loc, h, statistics.pivot, statistics.offset);
  return arith::MulFOp::create(b, loc, x, statistics.rstd);
}

Value mlir::norm::createGammaProduct(OpBuilder &b, Location loc, Value y,
                                     Value gamma, arith::FastMathFlags flags) {
  Value g =
      createFloatConversion(b, loc, gamma, getElementTypeOrSelf(y.getType()));
  return createMul(b, loc, y, g, flags);
}

Value mlir::norm::createBetaSum(OpBuilder &b, Location loc, Value y, Value beta,
                                arith::FastMathFlags flags) {
  Value shift =
      createFloatConversion(b, loc, beta, getElementTypeOrSelf(y.getType()));
  return createAdd(b, loc, y, shift, flags);
}

Value mlir::norm::createNormalizedOutput(OpBuilder &b, Location loc, Value h,
                                         const RowStatistics &statistics,
                                         Value gamma, Value beta,
                                         arith::FastMathFlags flags) {
  Value y = createNormalized(b, loc, h, statistics);
  if (gamma)
    y = createGammaProduct(b, loc, y, gamma, flags);
  if (beta)
    y = createBetaSum(b, loc, y, beta, flags);
  return y;
}

Value mlir::norm::createResidualSum(OpBuilder &b, Location loc, Value x,
                                    Value r, Type computeType) {
  Value wideX = createFloatConversion(b, loc, x, computeType);
  Value wideR = createFloatConversion(b, loc, r, computeType);
  return arith::AddFOp::create(b, loc, wideX, wideR);
}

Value mlir::norm::createRoundedResidualSum(OpBuilder &b, Location loc, Value x,
                                           Value r, Type computeType,
                                           Type inputElementType) {
  Value sum = createResidualSum(b, loc, x, r, computeType);
  return createFloatConversion(b, loc, sum, inputElementType);
}

Value mlir::norm::createQuantized(OpBuilder &b, Location loc, Value y,
                                  Value outScale, Type outputElementType) {
  Type type = y.getType();
  Type resultType = withElementType(type, outputElementType);
  Value q = arith::DivFOp::create(b, loc, y, outScale);
  if (isa<FloatType>(outputElementType)) {
    // f8E4M3FN: saturate to the largest finite value, then round once.
    Value lowest = createFloatConstant(b, loc, type, -448.0);
    q = arith::MaximumFOp::create(b, loc, q, lowest);
    Value highest = createFloatConstant(b, loc, type, 448.0);
    q = arith::MinimumFOp::create(b, loc, q, highest);
    return arith::TruncFOp::create(b, loc, resultType, q);
  }
  // i8: round half to even, saturate, and send NaN to 0.
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, q, q);
  q = math::RoundEvenOp::create(b, loc, q);
  Value lowest = createFloatConstant(b, loc, type, -128.0);
  q = arith::MaximumFOp::create(b, loc, q, lowest);
  Value highest = createFloatConstant(b, loc, type, 127.0);
  q = arith::MinimumFOp::create(b, loc, q, highest);
  Value zero = createFloatConstant(b, loc, type, 0.0);
  q = arith::SelectOp::create(b, loc, isNan, zero, q);
  return arith::FPToSIOp::create(b, loc, resultType, q);
}

double mlir::norm::getQuantizedMaximum(Type outputElementType) {
  return isa<FloatType>(outputElementType) ? 448.0 : 127.0;
}

Value mlir::norm::createAbsMaxStep(OpBuilder &b, Location loc, Value amax,
                                   Value y) {
  Value magnitude = math::AbsFOp::create(b, loc, y);
  return arith::MaximumFOp::create(b, loc, amax, magnitude);
}

Value mlir::norm::createDynamicScale(OpBuilder &b, Location loc, Value amax,
                                     Type outputElementType,
                                     std::optional<APFloat> minScale,
                                     Value scaleUb) {
  Type f32 = b.getF32Type();
  Value amax32 = createFloatConversion(b, loc, amax, f32);
  Value qmax =
      createFloatConstant(b, loc, f32, getQuantizedMaximum(outputElementType));
  Value scale = arith::DivFOp::create(b, loc, amax32, qmax);
  if (minScale) {
    Value floor = createFloatConstant(b, loc, f32, minScale->convertToDouble());
    scale = arith::MaximumFOp::create(b, loc, scale, floor);
  }
  if (scaleUb) {
    Value bound = createFloatConversion(b, loc, scaleUb, f32);
    scale = arith::MinimumFOp::create(b, loc, scale, bound);
  }
  return scale;
}

Value mlir::norm::createOutputConversion(OpBuilder &b, Location loc, Value y,
                                         Type outputElementType,
                                         Value outScale) {
  if (outScale)
    return createQuantized(b, loc, y, outScale, outputElementType);
  return createFloatConversion(b, loc, y, outputElementType);
}

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//

Value mlir::norm::createGradientProduct(OpBuilder &b, Location loc, Value dy,
                                        Value gamma,
                                        arith::FastMathFlags flags) {
  if (!gamma)
    return dy;
  return createGammaProduct(b, loc, dy, gamma, flags);
}

Value mlir::norm::createInputGradient(OpBuilder &b, Location loc, Value wdy,
                                      Value xhat, Value rstd,
                                      Value meanGradient,
                                      Value meanGradientDotNormalized,
                                      arith::FastMathFlags flags) {
  Value centred = wdy;
  if (meanGradient)
    centred = arith::SubFOp::create(b, loc, centred, meanGradient);
  Value projection = createMul(b, loc, xhat, meanGradientDotNormalized, flags);
  Value difference = arith::SubFOp::create(b, loc, centred, projection);
  return createMul(b, loc, rstd, difference, flags);
}
