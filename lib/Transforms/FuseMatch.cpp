//===- FuseMatch.cpp - What --norm-fuse absorbs, in the expression view ---===//

#include "FuseMatch.h"

#include "CaptureExpr.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

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

/// The quantisation of `y` that `consumer` computes (see matchQuantization),
/// up to its divisor: calls `divisorIs` with the view, the divisor and the
/// division op, and returns what it returns.
template <typename T>
static std::optional<T> matchQuantizedDivision(
    Operation *consumer, Value y, Type computeType,
    function_ref<std::optional<T>(OneOpView &, Expr *, arith::DivFOp)>
        divisorIs) {
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

  // A division of y, or y extended to the compute type.
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
  if (!divisor)
    return std::nullopt;
  return divisorIs(view, divisor, divf);
}

std::optional<Quantization>
mlir::norm::fuse::matchQuantization(Operation *consumer, Value y,
                                    Type computeType) {
  return matchQuantizedDivision<Quantization>(
      consumer, y, computeType,
      [&](OneOpView &, Expr *divisor,
          arith::DivFOp divf) -> std::optional<Quantization> {
        // A scale for the whole tensor.
        if (divisor->getDeps() != 0)
          return std::nullopt;
        Value scale = divf.getRhs();
        auto linalgOp = cast<linalg::LinalgOp>(consumer);
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
        if (def && consumer->isAncestor(def) &&
            !matchPattern(scale, m_Constant()))
          return std::nullopt;
        return Quantization{scale, false};
      });
}

//===----------------------------------------------------------------------===//
// Dynamic quantisation
//===----------------------------------------------------------------------===//

/// Whether the tensor `value` of `rank` dims normalised from `axis` holds
/// one value per row: shaped like the rows, or like the input with the
/// normalised dims kept as units.
static bool isRowShaped(Value value, int64_t rank, int64_t axis) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return false;
  if (type.getRank() == axis)
    return true;
  if (type.getRank() != rank)
    return false;
  return llvm::all_of(type.getShape().drop_front(axis),
                      [](int64_t size) { return size == 1; });
}

/// Whether `map` (over the iteration space `space`, normalised from `axis`)
/// reads the row-shaped `value` at the row of the point: the row dims (a
/// unit row dim perhaps read at 0, torch-mlir's spelling), then zeros for
/// kept unit dims.
static bool readsRow(AffineMap map, Value value, ArrayRef<int64_t> space,
                     int64_t axis) {
  auto type = cast<ShapedType>(value.getType());
  if (map.getNumDims() != space.size() || map.getNumResults() != type.getRank())
    return false;
  for (auto [i, result] : llvm::enumerate(map.getResults())) {
    if (static_cast<int64_t>(i) < axis) {
      if (!capture::readsAlongDim(result, i, type.getDimSize(i), space[i]))
        return false;
      continue;
    }
    auto zero = dyn_cast<AffineConstantExpr>(result);
    if (!zero || zero.getValue() != 0)
      return false;
  }
  return true;
}

/// Whether `value` is |y|, element for element: `math.absf` of y, or a
/// linalg op yielding the absf of its one input, y read whole.
static bool isAbsOf(Value value, Value y) {
  Operation *def = value.getDefiningOp();
  if (!def || value.getType() != y.getType())
    return false;
  if (auto abs = dyn_cast<math::AbsFOp>(def))
    return abs.getOperand() == y;
  auto linalgOp = dyn_cast<linalg::LinalgOp>(def);
  if (!linalgOp || linalgOp.getNumDpsInputs() != 1 ||
      linalgOp.getDpsInputs()[0] != y || !linalgOp.hasPureTensorSemantics())
    return false;
  auto type = cast<ShapedType>(y.getType());
  if (!llvm::all_of(linalgOp.getIndexingMapsArray(), [&](AffineMap map) {
        return capture::isWholeRead(map, type, type.getShape());
      }))
    return false;
  auto yield = cast<linalg::YieldOp>(linalgOp.getBlock()->getTerminator());
  auto abs = yield.getValues()[0].getDefiningOp<math::AbsFOp>();
  return abs && abs.getOperand() == linalgOp.getBlock()->getArgument(0);
}

/// Whether `init` is filled with 0 or -inf, the start of a max of
/// magnitudes.
static bool isAbsMaxStart(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  FloatAttr value;
  if (!matchPattern(fill.getInputs()[0], m_Constant(&value)))
    return false;
  APFloat start = value.getValue();
  return start.isZero() || (start.isInfinity() && start.isNegative());
}

/// Whether `amax` is the max over the normalised dims of |y| of each row,
/// from a start of 0 or -inf, NaN-propagating.
static bool isRowAbsMax(Value amax, Value y, int64_t axis) {
  auto linalgOp = amax.getDefiningOp<linalg::LinalgOp>();
  int64_t rank = cast<RankedTensorType>(y.getType()).getRank();
  if (!linalgOp || !linalgOp.hasPureTensorSemantics() ||
      linalgOp.getNumDpsInputs() != 1 || linalgOp.getNumDpsInits() != 1 ||
      linalgOp.getNumLoops() != static_cast<unsigned>(rank))
    return false;
  Value input = linalgOp.getDpsInputs()[0];
  bool absInBody = input == y;
  if (!absInBody && !isAbsOf(input, y))
    return false;
  SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
  ArrayRef<int64_t> shape = cast<ShapedType>(y.getType()).getShape();
  if (!capture::isWholeRead(maps[0], cast<ShapedType>(y.getType()), shape) ||
      !isRowShaped(amax, rank, axis) || !readsRow(maps[1], amax, shape, axis))
    return false;
  for (auto [i, iterator] : llvm::enumerate(linalgOp.getIteratorTypesArray()))
    if ((iterator == utils::IteratorType::reduction) !=
        (static_cast<int64_t>(i) >= axis))
      return false;
  if (!isAbsMaxStart(linalgOp.getDpsInits()[0]))
    return false;
  // The body: maximumf(acc, |in|) (|in| already, with the abs before).
  Block *body = linalgOp.getBlock();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto max = yield.getValues()[0].getDefiningOp<arith::MaximumFOp>();
  if (!max)
    return false;
  Value in = body->getArgument(0), acc = body->getArgument(1);
  auto isElement = [&](Value v) {
    if (!absInBody)
      return v == in;
    auto abs = v.getDefiningOp<math::AbsFOp>();
    return abs && abs.getOperand() == in;
  };
  return (max.getLhs() == acc && isElement(max.getRhs())) ||
         (max.getRhs() == acc && isElement(max.getLhs()));
}

std::optional<DynamicQuantization>
mlir::norm::fuse::matchDynamicQuantization(Operation *consumer, Value y,
                                           Type computeType, int64_t axis) {
  int64_t rank = cast<RankedTensorType>(y.getType()).getRank();
  Type quantizedType = getElementTypeOrSelf(consumer->getResult(0));
  if (!computeType.isF32() || getElementTypeOrSelf(y) != computeType)
    return std::nullopt;
  // The scale tensor, read at the element's row.
  std::optional<Value> scale = matchQuantizedDivision<Value>(
      consumer, y, computeType,
      [&](OneOpView &, Expr *divisor, arith::DivFOp) -> std::optional<Value> {
        // The view writes y / s as y * s^-1.
        if (!divisor->is(ExprKind::Pow) || divisor->getNumber() != -1.0)
          return std::nullopt;
        divisor = divisor->getOperand();
        if (!divisor->is(ExprKind::Load))
          return std::nullopt;
        Value s = divisor->getValue();
        if (getElementTypeOrSelf(s) != computeType ||
            !isRowShaped(s, rank, axis) ||
            !readsRow(divisor->getMap(), s,
                      cast<ShapedType>(y.getType()).getShape(), axis))
          return std::nullopt;
        return s;
      });
  if (!scale)
    return std::nullopt;

  // scale = min(max(amax / qmax, floor), ub), one elementwise op at a time
  // or fused: peel the bound, then the floor, then the division.
  DynamicQuantization match;
  match.scale = *scale;
  Value current = *scale;
  Expr *e = nullptr;
  std::optional<OneOpView> view;
  auto viewOf = [&](Value value) -> Expr * {
    Operation *def = value.getDefiningOp();
    if (!def || def->getNumResults() != 1)
      return nullptr;
    if (!isa<linalg::LinalgOp>(def) &&
        def->getDialect()->getNamespace() != "arith")
      return nullptr;
    view.emplace(def, value);
    return view->getExpr();
  };
  // Steps left to peel, outermost first: 2 the bound, 1 the floor, 0 the
  // division.
  int step = 2;
  e = viewOf(current);
  while (e) {
    if (step == 2 && e->is(ExprKind::Min)) {
      Expr *bound = e->getRhs(), *inner = e->getLhs();
      if (bound->getDeps() != 0)
        std::swap(bound, inner);
      if (bound->getDeps() != 0)
        return std::nullopt;
      if (bound->is(ExprKind::Constant))
        match.constantBound = bound->getNumber();
      else if (bound->is(ExprKind::Scalar) &&
               bound->getValue().getType() == computeType)
        match.bound = bound->getValue();
      else
        return std::nullopt;
      step = 1;
      e = inner;
    } else if (step >= 1 && e->is(ExprKind::Max)) {
      Expr *floor = e->getRhs(), *inner = e->getLhs();
      if (!floor->is(ExprKind::Constant))
        std::swap(floor, inner);
      if (!floor->is(ExprKind::Constant) || floor->getNumber() < 0)
        return std::nullopt;
      match.floor = floor->getNumber();
      step = 0;
      e = inner;
    } else if (e->is(ExprKind::Mul)) {
      // amax / qmax, a division (not a product with 1/qmax): in a payload,
      // or an arith.divf on tensors by a splat.
      auto divf =
          dyn_cast_or_null<arith::DivFOp>(view->getTranslator().getOrigin(e));
      if (!divf && e == view->getExpr())
        divf = current.getDefiningOp<arith::DivFOp>();
      Attribute divisor;
      if (!divf || !matchPattern(divf.getRhs(), m_Constant(&divisor)))
        return std::nullopt;
      if (auto splat = dyn_cast<SplatElementsAttr>(divisor))
        divisor = splat.getSplatValue<Attribute>();
      auto qmax = dyn_cast<FloatAttr>(divisor);
      if (!qmax ||
          qmax.getValueAsDouble() != getQuantizedMaximum(quantizedType))
        return std::nullopt;
      Expr *amax = e->getLhs()->is(ExprKind::Load) ? e->getLhs() : e->getRhs();
      if (!amax->is(ExprKind::Load) ||
          !view->isWholeRead(amax, amax->getValue()) ||
          !isRowAbsMax(amax->getValue(), y, axis))
        return std::nullopt;
      return match;
    } else if (e->is(ExprKind::Load) && view->isWholeRead(e, e->getValue())) {
      // The next step is another op's.
      current = e->getValue();
      e = viewOf(current);
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> mlir::norm::fuse::matchGroupView(Operation *view,
                                                        Value y, int64_t axis) {
  auto expand = dyn_cast<tensor::ExpandShapeOp>(view);
  if (!expand || expand.getSrc() != y)
    return std::nullopt;
  int64_t rank = expand.getSrcType().getRank();
  if (axis != rank - 1)
    return std::nullopt;
  // [[0], ..., [rank - 2], [rank - 1, rank]]
  SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
  for (auto [i, group] : llvm::enumerate(groups)) {
    int64_t d = static_cast<int64_t>(i);
    ReassociationIndices expected{d};
    if (d == rank - 1)
      expected.push_back(d + 1);
    if (group != expected)
      return std::nullopt;
  }
  int64_t groupSize = expand.getResultType().getShape().back();
  if (ShapedType::isDynamic(groupSize) || groupSize < 1)
    return std::nullopt;
  return groupSize;
}
