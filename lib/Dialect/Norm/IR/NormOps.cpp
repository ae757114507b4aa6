//===- NormOps.cpp - norm dialect: syntax, verifier, canonicalisation -----===//

#include "norm/Dialect/Norm/IR/NormOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace mlir::norm;

#include "norm/Dialect/Norm/IR/NormOpsDialect.cpp.inc"
#include "norm/Dialect/Norm/IR/NormInterfaces.cpp.inc"

void NormDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "norm/Dialect/Norm/IR/NormOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Custom syntax: `eps(1.0e-05)` or `eps(%e : f32)`.
//===----------------------------------------------------------------------===//

static ParseResult
parseEpsilon(OpAsmParser &parser, FloatAttr &epsilon,
             std::optional<OpAsmParser::UnresolvedOperand> &epsValue,
             Type &epsType) {
  // Omitting eps altogether is left to the verifier to report.
  if (failed(parser.parseOptionalKeyword("eps")))
    return success();
  if (parser.parseLParen())
    return failure();
  OpAsmParser::UnresolvedOperand operand;
  OptionalParseResult hasOperand = parser.parseOptionalOperand(operand);
  if (hasOperand.has_value()) {
    if (failed(*hasOperand) || parser.parseColonType(epsType))
      return failure();
    epsValue = operand;
  } else {
    double value;
    if (parser.parseFloat(value))
      return failure();
    epsilon = parser.getBuilder().getF64FloatAttr(value);
  }
  return parser.parseRParen();
}

/// The shortest decimal that reads back as `value`, always with a `.` so
/// that MLIR's lexer sees a float literal (`1.0e-05`, `0.001`).
static std::string formatEpsilon(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value < 0 ? "-inf" : "inf";
  std::string text;
  for (int precision = 1; precision <= 17; ++precision) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.*e", precision - 1, value);
    text = buffer;
    if (std::strtod(text.c_str(), nullptr) == value)
      break;
  }
  size_t exponent = text.find('e');
  std::string mantissa = text.substr(0, exponent);
  if (mantissa.find('.') == std::string::npos)
    text.insert(exponent, ".0");
  return text;
}

static void printEpsilon(OpAsmPrinter &p, Operation *, FloatAttr epsilon,
                         Value epsValue, Type epsType) {
  if (epsValue) {
    p << "eps(" << epsValue << " : " << epsType << ")";
    return;
  }
  if (!epsilon)
    return;
  p << "eps(" << formatEpsilon(epsilon.getValueAsDouble()) << ")";
}

//===----------------------------------------------------------------------===//
// Verifier, shared by both ops.
//===----------------------------------------------------------------------===//

/// Prints a shape as `2x?x8` (the scalar shape prints as `[]`).
static std::string formatShape(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "[]";
  std::string result;
  llvm::raw_string_ostream os(result);
  llvm::interleave(
      shape, os,
      [&](int64_t dim) {
        if (ShapedType::isDynamic(dim))
          os << "?";
        else
          os << dim;
      },
      "x");
  return result;
}

/// Checks that the optional shaped operand `value` named `name` has `shape`
/// (dynamic dims are compatible with anything) and a float element type.
static LogicalResult verifyOperandShape(Operation *op, Value value,
                                        StringRef name,
                                        ArrayRef<int64_t> expected,
                                        StringRef expectedName) {
  if (!value)
    return success();
  auto type = cast<ShapedType>(value.getType());
  if (failed(verifyCompatibleShape(type.getShape(), expected)))
    return op->emitOpError("expects the ")
           << name << " shape " << formatShape(type.getShape())
           << " to match the " << expectedName << " shape "
           << formatShape(expected);
  if (!isa<FloatType>(type.getElementType()))
    return op->emitOpError("expects a floating-point ")
           << name << " element type, got " << type.getElementType();
  return success();
}

/// Checks the output's shape and element type: a float of at least 16 bits,
/// or a quantised type (i8, f8E4M3FN) together with an out_scale.
static LogicalResult verifyOutput(NormOpInterface op,
                                  ArrayRef<int64_t> inputShape) {
  auto type = cast<ShapedType>(op.getOutput().getType());
  if (failed(verifyCompatibleShape(type.getShape(), inputShape)))
    return op->emitOpError("expects the output shape ")
           << formatShape(type.getShape()) << " to match the input shape "
           << formatShape(inputShape);
  Type elementType = type.getElementType();
  bool quantized = isQuantizedElementType(elementType);
  if (!quantized && !(isa<FloatType>(elementType) &&
                      elementType.getIntOrFloatBitWidth() >= 16))
    return op->emitOpError("expects the output element type to be a float "
                           "of at least 16 bits, or i8 or f8E4M3FN with an "
                           "out_scale or scales, got ")
           << elementType;
  if (op.getOutScale() && op.getScales())
    return op->emitOpError("expects either an out_scale operand (a static "
                           "scale) or a scales destination (dynamic scales), "
                           "not both");
  if (quantized && !op.hasQuantizedOutput())
    return op->emitOpError("expects an out_scale operand or a scales "
                           "destination for the quantised output element "
                           "type ")
           << elementType;
  if (!quantized && op.getOutScale())
    return op->emitOpError("has an out_scale operand but its output element "
                           "type ")
           << elementType << " is not quantised (i8 or f8E4M3FN)";
  if (!quantized && op.getScales())
    return op->emitOpError("has a scales destination but its output element "
                           "type ")
           << elementType << " is not quantised (i8 or f8E4M3FN)";
  return success();
}

/// Checks the dynamic quantisation's operands and attributes: `group_size`,
/// `min_scale` and `scale_ub` only with a `scales` destination; f32 scales
/// shaped like the rows (per token) or `[rows..., N/G]` (per group, one
/// normalised dim, G dividing N).
static LogicalResult verifyDynamicQuantization(NormOpInterface op,
                                               ArrayRef<int64_t> shape,
                                               ArrayRef<int64_t> rowShape) {
  std::optional<uint64_t> groupSize = op.getGroupSize();
  std::optional<APFloat> minScale = op.getMinScale();
  Value scales = op.getScales();
  if (!scales) {
    if (groupSize)
      return op->emitOpError("has a group_size but no scales destination");
    if (minScale)
      return op->emitOpError("has a min_scale but no scales destination");
    if (op.getScaleUb())
      return op->emitOpError("has a scale_ub operand but no scales "
                             "destination");
    return success();
  }
  if (minScale && (!minScale->isFinite() || minScale->isNegative()))
    return op->emitOpError("expects min_scale to be a finite number >= 0, "
                           "got ")
           << formatEpsilon(minScale->convertToDouble());
  SmallVector<int64_t> expected(rowShape);
  StringRef expectedName = "row";
  if (groupSize) {
    int64_t g = static_cast<int64_t>(*groupSize);
    if (g <= 0)
      return op->emitOpError("expects a positive group_size, got ") << g;
    if (rowShape.size() + 1 != shape.size())
      return op->emitOpError("expects one normalised dimension for "
                             "per-group scales, got ")
             << shape.size() - rowShape.size();
    int64_t n = shape.back();
    if (!ShapedType::isDynamic(n) && n % g != 0)
      return op->emitOpError("expects the group_size ")
             << g << " to divide the row length " << n;
    expected.push_back(ShapedType::isDynamic(n) ? ShapedType::kDynamic : n / g);
    expectedName = "rows x groups";
  }
  if (failed(verifyOperandShape(op, scales, "scales", expected, expectedName)))
    return failure();
  if (!getElementTypeOrSelf(scales).isF32())
    return op->emitOpError("expects f32 scales, got ")
           << getElementTypeOrSelf(scales);
  return success();
}

/// Whether the positive `epsilon` stays non-zero in the compute type of
/// `inputElementType`: the statistics are computed there, and a zero epsilon
/// turns a constant row into 0 * inf = NaN.
static bool isEpsilonRepresentable(double epsilon, Type inputElementType) {
  auto computeType = cast<FloatType>(getComputeElementType(inputElementType));
  APFloat converted(epsilon);
  bool losesInfo;
  converted.convert(computeType.getFloatSemantics(),
                    APFloat::rmNearestTiesToEven, &losesInfo);
  return !converted.isZero();
}

/// Checks the attribute `epsilon`, if any: positive, finite and non-zero in
/// the compute type of `elementType`.
static LogicalResult verifyEpsilonAttr(Operation *op,
                                       std::optional<APFloat> epsilon,
                                       Type elementType) {
  if (!epsilon)
    return success();
  if (!epsilon->isFiniteNonZero() || epsilon->isNegative())
    return op->emitOpError("expects epsilon to be a positive finite number, "
                           "got ")
           << formatEpsilon(epsilon->convertToDouble());
  if (!isEpsilonRepresentable(epsilon->convertToDouble(), elementType))
    return op->emitOpError("expects epsilon to be representable in the ")
           << getComputeElementType(elementType) << " compute type, got "
           << formatEpsilon(epsilon->convertToDouble())
           << ", which rounds to 0 there";
  return success();
}

/// The checks that every norm op makes of its input and axis: rank >= 1,
/// shaped operands all tensors or all memrefs, `axis` in range, a float
/// element type and non-empty normalised dimensions.
/// The input's shape, split at the axis, and element type.
struct InputLayout {
  ArrayRef<int64_t> shape, rowShape, normalizedShape;
  Type elementType;
};

static FailureOr<InputLayout> verifyInputLayout(Operation *op,
                                                ShapedType inputType,
                                                int64_t axis) {
  int64_t rank = inputType.getRank();
  if (rank < 1)
    return op->emitOpError("expects an input of rank >= 1");

  bool onTensors = isa<RankedTensorType>(inputType);
  for (Value operand : op->getOperands()) {
    if (!isa<ShapedType>(operand.getType()))
      continue;
    if (isa<RankedTensorType>(operand.getType()) != onTensors)
      return op->emitOpError(
          "expects its shaped operands to be all tensors or all memrefs");
  }

  if (auto axisAttr = op->getAttrOfType<IntegerAttr>("axis")) {
    int64_t axis = axisAttr.getInt();
    if (axis < 0 || axis >= rank)
      return op->emitOpError("axis ")
             << axis << " is out of range for an input of rank " << rank;
  }

  Type elementType = inputType.getElementType();
  if (!isa<FloatType>(elementType))
    return op->emitOpError("expects a floating-point input element type, got ")
           << elementType;
  ArrayRef<int64_t> shape = inputType.getShape();
  for (int64_t dim : shape.drop_front(axis))
    if (dim == 0)
      return op->emitOpError("expects non-empty normalised dimensions");
  return InputLayout{shape, shape.take_front(axis), shape.drop_front(axis),
                     elementType};
}

static LogicalResult verifyNormOp(NormOpInterface op) {
  FailureOr<InputLayout> layout =
      verifyInputLayout(op, op.getInputType(), op.getNormalizedAxis());
  if (failed(layout))
    return failure();
  auto [shape, rowShape, normalizedShape, elementType] = *layout;

  if (failed(verifyOutput(op, shape)))
    return failure();
  if (failed(verifyOperandShape(op, op.getResidual(), "residual", shape,
                                "input")))
    return failure();
  if (Value residual = op.getResidual();
      residual && getElementTypeOrSelf(residual) != elementType)
    return op->emitOpError("expects the residual element type ")
           << getElementTypeOrSelf(residual)
           << " to match the input element type " << elementType;

  if (failed(verifyOperandShape(op, op.getGamma(), "gamma", normalizedShape,
                                "normalised")) ||
      failed(verifyOperandShape(op, op.getBeta(), "beta", normalizedShape,
                                "normalised")))
    return failure();
  if (op.getGamma() && op.getBeta() &&
      getElementTypeOrSelf(op.getGamma()) != getElementTypeOrSelf(op.getBeta()))
    return op->emitOpError("expects gamma and beta to have the same element "
                           "type, got ")
           << getElementTypeOrSelf(op.getGamma()) << " and "
           << getElementTypeOrSelf(op.getBeta());

  if (Value residualOutput = op.getResidualOutput()) {
    if (!op.getResidual())
      return op->emitOpError(
          "has a residual_out destination but no residual operand");
    if (failed(verifyOperandShape(op, residualOutput, "residual_out", shape,
                                  "input")))
      return failure();
    if (getElementTypeOrSelf(residualOutput) != elementType)
      return op->emitOpError("expects the residual_out element type ")
             << getElementTypeOrSelf(residualOutput)
             << " to match the input element type " << elementType;
  }
  if (failed(verifyOperandShape(op, op.getMean(), "mean", rowShape, "row")) ||
      failed(verifyOperandShape(op, op.getRstd(), "rstd", rowShape, "row")) ||
      failed(verifyDynamicQuantization(op, shape, rowShape)))
    return failure();

  std::optional<APFloat> epsilon = op.getEpsilon();
  if (epsilon && op.getEpsValue())
    return op->emitOpError(
        "expects either the epsilon attribute or an eps operand, not both");
  if (!epsilon && !op.getEpsValue())
    return op->emitOpError(
        "expects an epsilon: the epsilon attribute or an eps operand");
  return verifyEpsilonAttr(op, epsilon, elementType);
}

/// Checks a gradient destination `value` named `name`: `shape` and a float
/// element type of at least 16 bits.
static LogicalResult verifyGradientInit(Operation *op, Value value,
                                        StringRef name,
                                        ArrayRef<int64_t> expected,
                                        StringRef expectedName) {
  if (!value)
    return success();
  if (failed(verifyOperandShape(op, value, name, expected, expectedName)))
    return failure();
  Type elementType = getElementTypeOrSelf(value);
  if (elementType.getIntOrFloatBitWidth() < 16)
    return op->emitOpError("expects the ")
           << name << " element type to be a float of at least 16 bits, got "
           << elementType;
  return success();
}

static LogicalResult verifyNormGradOp(NormGradOpInterface op) {
  FailureOr<InputLayout> layout =
      verifyInputLayout(op, op.getInputType(), op.getNormalizedAxis());
  if (failed(layout))
    return failure();
  auto [shape, rowShape, normalizedShape, elementType] = *layout;

  if (failed(
          verifyOperandShape(op, op.getOutputGrad(), "dy", shape, "input")) ||
      failed(verifyOperandShape(op, op.getGamma(), "gamma", normalizedShape,
                                "normalised")) ||
      failed(verifyOperandShape(op, op.getMean(), "mean", rowShape, "row")) ||
      failed(verifyOperandShape(op, op.getRstd(), "rstd", rowShape, "row")) ||
      failed(verifyOperandShape(op, op.getResidualGrad(), "residual_grad",
                                shape, "input")))
    return failure();
  if (op.isLayerNorm() &&
      static_cast<bool>(op.getMean()) != static_cast<bool>(op.getRstd()))
    return op->emitOpError("expects mean and rstd to be both operands (saved "
                           "by the forward op) or both absent (recomputed "
                           "from the input)");

  if (failed(verifyGradientInit(op, op.getInputGradInit(), "dx", shape,
                                "input")) ||
      failed(verifyGradientInit(op, op.getGammaGradInit(), "dgamma",
                                normalizedShape, "normalised")) ||
      failed(verifyGradientInit(op, op.getBetaGradInit(), "dbeta",
                                normalizedShape, "normalised")))
    return failure();
  if (!op.getInputGradInit() && !op.getGammaGradInit() && !op.getBetaGradInit())
    return op->emitOpError("expects at least one destination: dx, dgamma")
           << (op.isLayerNorm() ? " or dbeta" : "");
  if (Value residualGrad = op.getResidualGrad()) {
    if (!op.getInputGradInit())
      return op->emitOpError("has a residual_grad operand but no dx "
                             "destination to add it into");
    if (getElementTypeOrSelf(residualGrad) !=
        getElementTypeOrSelf(op.getInputGradInit()))
      return op->emitOpError("expects the residual_grad element type ")
             << getElementTypeOrSelf(residualGrad)
             << " to match the dx element type "
             << getElementTypeOrSelf(op.getInputGradInit());
  }

  std::optional<APFloat> epsilon = op.getEpsilon();
  bool hasEps = epsilon || op.getEpsValue();
  if (epsilon && op.getEpsValue())
    return op->emitOpError(
        "expects either the epsilon attribute or an eps operand, not both");
  if (op.recomputesStatistics() && !hasEps)
    return op->emitOpError("recomputes its statistics from the input and "
                           "expects an epsilon for them: the epsilon "
                           "attribute or an eps operand");
  if (!op.recomputesStatistics() && hasEps)
    return op->emitOpError("has an epsilon, but its statistics are operands: "
                           "epsilon is only used to recompute them");
  return verifyEpsilonAttr(op, epsilon, elementType);
}

//===----------------------------------------------------------------------===//
// Memory effects and result shapes, shared by both ops.
//===----------------------------------------------------------------------===//

static void getNormOpEffects(
    Operation *op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  auto dpsOp = cast<DestinationStyleOpInterface>(op);
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    // Destinations are written in full and never read.
    if (dpsOp.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    else
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

static LogicalResult
reifyNormOpResultShapes(Operation *op, OpBuilder &b,
                        ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  auto dpsOp = cast<DestinationStyleOpInterface>(op);
  for (Value init : dpsOp.getDpsInits())
    reifiedReturnShapes.push_back(
        tensor::getMixedSizes(b, op->getLoc(), init));
  return success();
}

//===----------------------------------------------------------------------===//
// Canonicalisation.
//===----------------------------------------------------------------------===//

/// Whether `value` is a constant splat tensor holding `expected`.
static bool isSplatConstant(Value value, double expected) {
  if (!value)
    return false;
  DenseFPElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat())
    return false;
  return attr.getSplatValue<APFloat>().convertToDouble() == expected;
}

namespace {
/// Drops a gamma that is a splat 1.0 and a beta that is a splat 0.0: the
/// multiply and the add they stand for are exact identities.
template <typename OpTy>
struct DropIdentityAffine : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    bool dropGamma = isSplatConstant(op.getGamma(), 1.0);
    bool dropBeta = false;
    if constexpr (std::is_same_v<OpTy, LayerNormOp>)
      dropBeta = isSplatConstant(op.getBeta(), 0.0);
    if (!dropGamma && !dropBeta)
      return rewriter.notifyMatchFailure(op, "no identity gamma or beta");
    rewriter.modifyOpInPlace(op, [&] {
      if (dropGamma)
        op.getGammaMutable().clear();
      if constexpr (std::is_same_v<OpTy, LayerNormOp>)
        if (dropBeta)
          op.getBetaMutable().clear();
    });
    return success();
  }
};

/// Turns an eps operand defined by a constant into the epsilon attribute.
template <typename OpTy>
struct FoldConstantEps : public OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Value epsValue = op.getEpsValue();
    FloatAttr constant;
    if (!epsValue || !matchPattern(epsValue, m_Constant(&constant)))
      return rewriter.notifyMatchFailure(op, "eps is not a constant operand");
    double value = constant.getValueAsDouble();
    // Leave an invalid constant for the runtime semantics to handle rather
    // than turning it into an attribute the verifier rejects.
    if (!(value > 0.0) || !std::isfinite(value))
      return rewriter.notifyMatchFailure(op, "eps is not positive and finite");
    if (!isEpsilonRepresentable(value, op.getInputType().getElementType()))
      return rewriter.notifyMatchFailure(op, "eps rounds to 0 in the compute "
                                             "type");
    rewriter.modifyOpInPlace(op, [&] {
      op.getEpsValueMutable().clear();
      op.setEpsilonAttr(rewriter.getF64FloatAttr(value));
    });
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Per-op hooks, forwarding to the shared implementations.
//===----------------------------------------------------------------------===//

/// The hooks of every norm op (forward and gradient): its verifier and
/// linalg decomposition (`VERIFY`, `DECOMPOSE`), memory effects and result
/// shapes.
#define NORM_DEFINE_HOOKS(OP, VERIFY, DECOMPOSE)                               \
  LogicalResult OP::verify() { return VERIFY(*this); }                         \
  void OP::getEffects(                                                         \
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>      \
          &effects) {                                                          \
    getNormOpEffects(*this, effects);                                          \
  }                                                                            \
  LogicalResult OP::reifyResultShapes(                                         \
      OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {        \
    return reifyNormOpResultShapes(*this, b, reifiedReturnShapes);             \
  }                                                                            \
  FailureOr<SmallVector<Value>> OP::decomposeOperation(OpBuilder &b) {         \
    return DECOMPOSE(b, *this);                                                \
  }

/// The forward ops also have canonicalisation patterns.
#define NORM_DEFINE_FORWARD_HOOKS(OP)                                          \
  NORM_DEFINE_HOOKS(OP, verifyNormOp, decomposeToLinalg)                       \
  void OP::getCanonicalizationPatterns(RewritePatternSet &results,             \
                                       MLIRContext *context) {                 \
    results.add<DropIdentityAffine<OP>, FoldConstantEps<OP>>(context);         \
  }

NORM_DEFINE_FORWARD_HOOKS(LayerNormOp)
NORM_DEFINE_FORWARD_HOOKS(RMSNormOp)
NORM_DEFINE_HOOKS(LayerNormGradOp, verifyNormGradOp, decomposeGradToLinalg)
NORM_DEFINE_HOOKS(RMSNormGradOp, verifyNormGradOp, decomposeGradToLinalg)

#undef NORM_DEFINE_FORWARD_HOOKS
#undef NORM_DEFINE_HOOKS

#define GET_OP_CLASSES
#include "norm/Dialect/Norm/IR/NormOps.cpp.inc"

NormOpInterface mlir::norm::createDetachedStatisticsOp(NormGradOpInterface op,
                                                       Value input,
                                                       int64_t axis, Value mean,
                                                       Value rstd) {
  OpBuilder detached(op->getContext());
  Location loc = op->getLoc();
  IntegerAttr axisAttr = detached.getI64IntegerAttr(axis);
  auto epsilonAttr = op->getAttrOfType<FloatAttr>("epsilon");
  Value eps = op.getEpsValue();
  if (op.isLayerNorm())
    return LayerNormOp::create(detached, loc, TypeRange(), input, Value(),
                               Value(), Value(), eps, Value(), Value(), input,
                               Value(), mean, rstd, Value(), axisAttr,
                               epsilonAttr, IntegerAttr(), FloatAttr());
  return RMSNormOp::create(detached, loc, TypeRange(), input, Value(), Value(),
                           eps, Value(), Value(), input, Value(), rstd, Value(),
                           axisAttr, epsilonAttr, IntegerAttr(), FloatAttr());
}
