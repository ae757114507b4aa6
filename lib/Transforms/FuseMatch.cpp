//===- FuseMatch.cpp - What --norm-fuse absorbs, in the expression view ---===//

#include "FuseMatch.h"

#include "CaptureExpr.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::norm::capture;
using namespace mlir::norm::fuse;

namespace {
/// One op's result in the expression view, over the result's own shape,
/// looking through that op and the broadcasts feeding it only: its
/// operands are read as they are.
class OneOpView {
public:
  OneOpView(Operation *op, Value result)
      : type(cast<RankedTensorType>(result.getType())),
        context(type.getShape()), translator(context, [op](Operation *other) {
          return other == op || isa<linalg::BroadcastOp>(other);
        }) {
    expr = translator.translate(result, AffineMap::getMultiDimIdentityMap(
                                            type.getRank(), op->getContext()));
  }

  Expr *getExpr() const { return expr; }
  ExprContext &getContext() { return context; }
  const ExprTranslator &getTranslator() const { return translator; }

  /// Whether `e` reads `value` element for element.
  bool isWholeRead(Expr *e, Value value) const {
    return e && e->is(ExprKind::Load) && e->getValue() == value &&
           capture::isWholeRead(e->getMap(), cast<ShapedType>(value.getType()),
                                context.getShape());
  }

  /// The node reading `value` element for element, if the view has one.
  Expr *getWholeRead(Value value) {
    auto valueType = dyn_cast<RankedTensorType>(value.getType());
    if (!valueType || valueType.getRank() != type.getRank())
      return nullptr;
    return context.load(value, AffineMap::getMultiDimIdentityMap(
                                   type.getRank(), value.getContext()));
  }

private:
  RankedTensorType type;
  ExprContext context;
  ExprTranslator translator;
  Expr *expr = nullptr;
};

/// The tensor operands of `op` in operand order (a linalg op's inputs).
SmallVector<Value> getOrderedOperands(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return SmallVector<Value>(linalgOp.getDpsInputs());
  return SmallVector<Value>(op->getOperands());
}

/// Whether `e` is the constant `value`.
bool isConstant(Expr *e, double value) { return e->isConstant(value); }

/// If `e` is `min(max(x, lo), hi)` or `max(min(x, hi), lo)`, returns `x`.
Expr *matchClamp(Expr *e, double lo, double hi) {
  // The operand of `e` (of `kind`) other than the constant `bound`.
  auto other = [](Expr *e, ExprKind kind, double bound) -> Expr * {
    if (!e->is(kind))
      return nullptr;
    if (isConstant(e->getRhs(), bound))
      return e->getLhs();
    if (isConstant(e->getLhs(), bound))
      return e->getRhs();
    return nullptr;
  };
  if (Expr *inner = other(e, ExprKind::Min, hi))
    return other(inner, ExprKind::Max, lo);
  if (Expr *inner = other(e, ExprKind::Max, lo))
    return other(inner, ExprKind::Min, hi);
  return nullptr;
}
} // namespace

std::optional<ResidualSum> mlir::norm::fuse::matchResidualSum(Value sum) {
  Operation *add = sum.getDefiningOp();
  if (!add || add->getNumResults() != 1 ||
      !isa<RankedTensorType>(sum.getType()))
    return std::nullopt;
  OneOpView view(add, sum);
  Expr *e = view.getExpr();
  if (!e->is(ExprKind::Add))
    return std::nullopt;
  Value a = e->getLhs()->is(ExprKind::Load) ? e->getLhs()->getValue() : Value();
  Value b = e->getRhs()->is(ExprKind::Load) ? e->getRhs()->getValue() : Value();
  if (!a || !b || a.getType() != sum.getType() ||
      b.getType() != sum.getType() || !view.isWholeRead(e->getLhs(), a) ||
      !view.isWholeRead(e->getRhs(), b))
    return std::nullopt;
  // The view orders a sum's operands its own way; the op's order decides.
  for (Value operand : getOrderedOperands(add)) {
    if (operand == a)
      return ResidualSum{a, b};
    if (operand == b)
      return ResidualSum{b, a};
  }
  return std::nullopt;
}

std::optional<RowOperand>
mlir::norm::fuse::matchAffineConsumer(Operation *consumer, Value y,
                                      int64_t axis, bool isAdd) {
  if (consumer->getNumResults() != 1 ||
      consumer->getResult(0).getType() != y.getType())
    return std::nullopt;
  OneOpView view(consumer, consumer->getResult(0));
  Expr *e = view.getExpr();
  if (!e->is(isAdd ? ExprKind::Add : ExprKind::Mul))
    return std::nullopt;
  Expr *weight = nullptr;
  if (view.isWholeRead(e->getLhs(), y))
    weight = e->getRhs();
  else if (view.isWholeRead(e->getRhs(), y))
    weight = e->getLhs();
  if (!weight || !weight->is(ExprKind::Load) || weight->getValue() == y)
    return std::nullopt;

  // The weight varies along the normalised dims only, read at their own
  // dims, after unit leading dims.
  Value w = weight->getValue();
  auto wType = cast<RankedTensorType>(w.getType());
  if (wType.getElementType() != getElementTypeOrSelf(y))
    return std::nullopt;
  int64_t rank = cast<RankedTensorType>(y.getType()).getRank();
  int64_t normalized = rank - axis;
  int64_t leading = wType.getRank() - normalized;
  if (leading < 0)
    return std::nullopt;
  ArrayRef<AffineExpr> results = weight->getMap().getResults();
  ArrayRef<int64_t> space = view.getContext().getShape();
  for (int64_t dim = 0; dim < leading; ++dim)
    if (wType.getDimSize(dim) != 1)
      return std::nullopt;
  for (int64_t i = 0; i < normalized; ++i) {
    AffineExpr result = results[leading + i];
    if (auto d = dyn_cast<AffineDimExpr>(result);
        d && d.getPosition() == static_cast<unsigned>(axis + i))
      continue;
    if (wType.getDimSize(leading + i) == 1 && space[axis + i] == 1)
      continue;
    return std::nullopt;
  }
  return RowOperand{w, leading};
}

FloatType mlir::norm::fuse::matchOutputCast(Operation *consumer, Value y) {
  auto from = dyn_cast<FloatType>(getElementTypeOrSelf(y));
  if (!from || consumer->getNumResults() != 1 ||
      !isa<RankedTensorType>(consumer->getResult(0).getType()))
    return {};
  OneOpView view(consumer, consumer->getResult(0));
  Expr *e = view.getExpr();
  if (!e->is(ExprKind::Trunc) || !view.isWholeRead(e->getOperand(), y))
    return {};
  auto to = dyn_cast<FloatType>(e->getType());
  if (!to || to.getWidth() >= from.getWidth())
    return {};
  return to;
}

std::optional<Quantization>
mlir::norm::fuse::matchQuantization(Operation *consumer, Value y,
                                    Type computeType) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(consumer);
  if (!linalgOp || consumer->getNumResults() != 1)
    return std::nullopt;
  Type quantizedType = getElementTypeOrSelf(consumer->getResult(0));
  OneOpView view(consumer, consumer->getResult(0));
  Expr *e = view.getExpr();

  // The scaled value: y / s, before the rounding and the clamp.
  Expr *scaled = nullptr;
  if (quantizedType.isSignlessInteger(8)) {
    if (!e->is(ExprKind::ToInt))
      return std::nullopt;
    Expr *rounded = e->getOperand();
    if (rounded->is(ExprKind::RoundEven)) {
      scaled = matchClamp(rounded->getOperand(), -128.0, 127.0);
    } else if (Expr *clamped = matchClamp(rounded, -128.0, 127.0)) {
      if (clamped->is(ExprKind::RoundEven))
        scaled = clamped->getOperand();
    }
  } else if (isa<Float8E4M3FNType>(quantizedType)) {
    if (e->is(ExprKind::Trunc) && e->getType() == quantizedType)
      scaled = matchClamp(e->getOperand(), -448.0, 448.0);
  }
  if (!scaled || !scaled->is(ExprKind::Mul) || scaled->getType() != computeType)
    return std::nullopt;

  // A division by a scale for the whole tensor, of y or y extended to the
  // compute type.
  auto divf =
      dyn_cast_or_null<arith::DivFOp>(view.getTranslator().getOrigin(scaled));
  if (!divf)
    return std::nullopt;
  Expr *yRead = view.getWholeRead(y);
  if (!yRead)
    return std::nullopt;
  Expr *dividend = yRead->getType() == computeType
                       ? yRead
                       : view.getContext().ext(yRead, computeType);
  Expr *divisor = nullptr;
  if (scaled->getLhs() == dividend)
    divisor = scaled->getRhs();
  else if (scaled->getRhs() == dividend)
    divisor = scaled->getLhs();
  if (!divisor || divisor->getDeps() != 0)
    return std::nullopt;

  Value scale = divf.getRhs();
  Block *body = linalgOp.getBlock();
  if (auto arg = dyn_cast<BlockArgument>(scale);
      arg && arg.getOwner() == body) {
    if (arg.getArgNumber() >= linalgOp.getNumDpsInputs())
      return std::nullopt;
    Value input = linalgOp.getDpsInputOperand(arg.getArgNumber())->get();
    return Quantization{input, isa<RankedTensorType>(input.getType())};
  }
  // Defined above the consumer, or a constant (cloned where needed).
  Operation *def = scale.getDefiningOp();
  if (def && consumer->isAncestor(def) && !matchPattern(scale, m_Constant()))
    return std::nullopt;
  return Quantization{scale, false};
}
