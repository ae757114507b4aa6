//===- RowStatistics.cpp - Recognise separately computed norm statistics --===//
//
// A value is turned into a small expression tree describing one element of
// it as a function of the elements of its leaves, looking through `arith` /
// `math` ops on tensors and through the bodies of `linalg` structured ops.
// Each node lives in one of three index spaces: the norm's full iteration
// space, its row space (the leading `axis` dims), or scalars. A row-space
// node inside a full-space expression is broadcast along the normalised
// dims, which is exactly what a row-projecting indexing map does; a
// reduction over the normalised dims takes a full-space expression to a
// row-space `Sum`. The statistics are then recognised structurally on the
// trees.
//
//===----------------------------------------------------------------------===//

#include "RowStatistics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

#include <deque>

using namespace mlir;
using namespace mlir::norm;

namespace {
enum class Space { Full, Row, Scalar };

/// One element of a value, as an expression.
struct Expr {
  enum class Kind { Leaf, Constant, Add, Sub, Mul, Div, Rsqrt, Sqrt, Ext, Sum };
  Kind kind = Kind::Leaf;
  /// Leaf: the tensor (or scalar) read, in `space`.
  Value leaf;
  Space space = Space::Full;
  /// Constant.
  double constant = 0.0;
  const Expr *lhs = nullptr;
  const Expr *rhs = nullptr;
};

/// Builds expression trees for values around one norm op.
class ExprBuilder {
public:
  ExprBuilder(int64_t axis, int64_t rank) : axis(axis), rank(rank) {}

  /// The expression of `value` read in `space`, or null if it is not made
  /// of ops the builder understands.
  const Expr *build(Value value, Space space);

private:
  const Expr *buildFromLinalg(linalg::LinalgOp op, unsigned resultNumber,
                              Space space);
  /// Translates a value of a linalg body; `inputs` gives, per block
  /// argument, the input it reads and the space it is read in.
  const Expr *translate(Value value, linalg::LinalgOp op,
                        ArrayRef<std::pair<Value, Space>> inputs,
                        DenseMap<Value, const Expr *> &cache);

  const Expr *leaf(Value value, Space space) {
    Expr e;
    e.kind = Expr::Kind::Leaf;
    e.leaf = value;
    e.space = space;
    return create(e);
  }
  const Expr *constant(double value) {
    Expr e;
    e.kind = Expr::Kind::Constant;
    e.constant = value;
    return create(e);
  }
  const Expr *node(Expr::Kind kind, const Expr *lhs,
                   const Expr *rhs = nullptr) {
    bool unary = kind == Expr::Kind::Rsqrt || kind == Expr::Kind::Sqrt ||
                 kind == Expr::Kind::Ext || kind == Expr::Kind::Sum;
    if (!lhs || (!rhs && !unary))
      return nullptr;
    Expr e;
    e.kind = kind;
    e.lhs = lhs;
    e.rhs = rhs;
    return create(e);
  }
  const Expr *create(const Expr &e) {
    arena.push_back(e);
    return &arena.back();
  }

  int64_t axis;
  int64_t rank;
  unsigned depth = 0;
  std::deque<Expr> arena;
  DenseMap<std::pair<Value, unsigned>, const Expr *> cache;
};
} // namespace

/// The value of a float splat constant (scalar or tensor), if `value` is one.
static std::optional<double> getSplatConstant(Value value) {
  FloatAttr scalar;
  if (matchPattern(value, m_Constant(&scalar)))
    return scalar.getValueAsDouble();
  DenseFPElementsAttr dense;
  if (matchPattern(value, m_Constant(&dense)) && dense.isSplat())
    return dense.getSplatValue<APFloat>().convertToDouble();
  return std::nullopt;
}

/// Whether `map` is the identity on `numDims` dims, or, with `numDims`
/// zero, a map without results.
static bool isIdentityOn(AffineMap map, unsigned numDims) {
  return map.getNumResults() == numDims && map.isIdentity();
}

/// Whether `map` over `rank` dims projects onto the leading `axis` dims.
static bool isRowProjection(AffineMap map, int64_t axis, int64_t rank) {
  if (map.getNumDims() != rank || map.getNumResults() != axis)
    return false;
  for (int64_t i = 0; i < axis; ++i)
    if (map.getResult(i) != getAffineDimExpr(i, map.getContext()))
      return false;
  return true;
}

const Expr *ExprBuilder::build(Value value, Space space) {
  auto key = std::make_pair(value, static_cast<unsigned>(space));
  if (const Expr *known = cache.lookup(key))
    return known;
  if (std::optional<double> c = getSplatConstant(value))
    return constant(*c);
  // Keep pathological chains cheap.
  if (depth > 64)
    return nullptr;
  ++depth;
  auto finish = [&](const Expr *e) {
    --depth;
    if (e)
      cache[key] = e;
    return e;
  };

  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return finish(leaf(value, Space::Scalar));
  int64_t expectedRank =
      space == Space::Full ? rank : (space == Space::Row ? axis : 0);
  if (type.getRank() != expectedRank)
    return finish(nullptr);

  Operation *def = value.getDefiningOp();
  if (!def)
    return finish(leaf(value, space));
  if (auto fill = dyn_cast<linalg::FillOp>(def))
    if (std::optional<double> c = getSplatConstant(fill.value()))
      return finish(constant(*c));

  auto binary = [&](Expr::Kind kind) {
    return node(kind, build(def->getOperand(0), space),
                build(def->getOperand(1), space));
  };
  if (isa<arith::AddFOp>(def))
    return finish(binary(Expr::Kind::Add));
  if (isa<arith::SubFOp>(def))
    return finish(binary(Expr::Kind::Sub));
  if (isa<arith::MulFOp>(def))
    return finish(binary(Expr::Kind::Mul));
  if (isa<arith::DivFOp>(def))
    return finish(binary(Expr::Kind::Div));
  if (isa<math::RsqrtOp>(def))
    return finish(node(Expr::Kind::Rsqrt, build(def->getOperand(0), space)));
  if (isa<math::SqrtOp>(def))
    return finish(node(Expr::Kind::Sqrt, build(def->getOperand(0), space)));
  if (isa<arith::ExtFOp>(def))
    return finish(node(Expr::Kind::Ext, build(def->getOperand(0), space)));
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(def))
    if (const Expr *e = buildFromLinalg(
            linalgOp, cast<OpResult>(value).getResultNumber(), space))
      return finish(e);
  return finish(leaf(value, space));
}

const Expr *ExprBuilder::buildFromLinalg(linalg::LinalgOp op,
                                         unsigned resultNumber, Space space) {
  if (!op.hasPureTensorSemantics() || op.hasIndexSemantics() || !op.getBlock())
    return nullptr;
  unsigned numLoops = op.getNumLoops();
  OpOperand *init = op.getDpsInitOperand(resultNumber);
  AffineMap outMap = op.getMatchingIndexingMap(init);
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned spaceRank =
      space == Space::Full ? rank : (space == Space::Row ? axis : 0);

  // Elementwise in `space`, or a sum over the normalised dims of a
  // full-space body into the row space.
  bool elementwise = numLoops == spaceRank && isIdentityOn(outMap, spaceRank) &&
                     op.getNumParallelLoops() == numLoops;
  bool reduction = space == Space::Row && numLoops == rank &&
                   isRowProjection(outMap, axis, rank);
  for (unsigned i = 0; reduction && i < numLoops; ++i)
    reduction = iterators[i] == (i < axis ? utils::IteratorType::parallel
                                          : utils::IteratorType::reduction);
  if (!elementwise && !reduction)
    return nullptr;
  Space loopSpace =
      numLoops == static_cast<unsigned>(rank) ? Space::Full : Space::Row;
  if (numLoops == 0)
    loopSpace = Space::Scalar;

  // How each input is read from the loop space.
  SmallVector<std::pair<Value, Space>> inputs;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    std::optional<Space> read;
    if (map.getNumResults() == 0)
      read = Space::Scalar;
    else if (isIdentityOn(map, numLoops))
      read = loopSpace;
    else if (loopSpace == Space::Full && isRowProjection(map, axis, rank))
      read = Space::Row;
    // An unsupported map only matters if the body reads the input.
    inputs.push_back({input->get(), read.value_or(Space::Scalar)});
    if (!read && op.payloadUsesValueFromOperand(input))
      return nullptr;
  }

  Block *body = op.getBlock();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  Value yielded = yield.getOperand(resultNumber);
  DenseMap<Value, const Expr *> bodyCache;
  if (elementwise)
    return translate(yielded, op, inputs, bodyCache);

  // sum(f): yield addf(acc, f) into a zero-filled init, acc read nowhere else.
  BlockArgument acc = op.getMatchingBlockArgument(init);
  auto add = yielded.getDefiningOp<arith::AddFOp>();
  if (!add || !acc.hasOneUse())
    return nullptr;
  Value addend;
  if (add.getLhs() == acc)
    addend = add.getRhs();
  else if (add.getRhs() == acc)
    addend = add.getLhs();
  else
    return nullptr;
  const Expr *initExpr = build(init->get(), Space::Row);
  if (!initExpr || initExpr->kind != Expr::Kind::Constant ||
      initExpr->constant != 0.0)
    return nullptr;
  return node(Expr::Kind::Sum, translate(addend, op, inputs, bodyCache));
}

const Expr *ExprBuilder::translate(Value value, linalg::LinalgOp op,
                                   ArrayRef<std::pair<Value, Space>> inputs,
                                   DenseMap<Value, const Expr *> &bodyCache) {
  if (const Expr *known = bodyCache.lookup(value))
    return known;
  Block *body = op.getBlock();
  const Expr *result = nullptr;
  auto arg = dyn_cast<BlockArgument>(value);
  if (arg && arg.getOwner() == body) {
    // Inputs only: an output read makes the value depend on the init.
    if (arg.getArgNumber() < inputs.size())
      result = build(inputs[arg.getArgNumber()].first,
                     inputs[arg.getArgNumber()].second);
  } else if (std::optional<double> c = getSplatConstant(value)) {
    result = constant(*c);
  } else if (arg || !op->isAncestor(value.getDefiningOp())) {
    // A scalar from above.
    result = build(value, Space::Scalar);
  } else {
    Operation *def = value.getDefiningOp();
    auto operand = [&](unsigned i) {
      return translate(def->getOperand(i), op, inputs, bodyCache);
    };
    if (isa<arith::AddFOp>(def))
      result = node(Expr::Kind::Add, operand(0), operand(1));
    else if (isa<arith::SubFOp>(def))
      result = node(Expr::Kind::Sub, operand(0), operand(1));
    else if (isa<arith::MulFOp>(def))
      result = node(Expr::Kind::Mul, operand(0), operand(1));
    else if (isa<arith::DivFOp>(def))
      result = node(Expr::Kind::Div, operand(0), operand(1));
    else if (isa<math::RsqrtOp>(def))
      result = node(Expr::Kind::Rsqrt, operand(0));
    else if (isa<math::SqrtOp>(def))
      result = node(Expr::Kind::Sqrt, operand(0));
    else if (isa<arith::ExtFOp>(def))
      result = node(Expr::Kind::Ext, operand(0));
    else if (isa<math::PowFOp>(def) &&
             getSplatConstant(def->getOperand(1)) == 2.0)
      result = node(Expr::Kind::Mul, operand(0), operand(0));
  }
  if (result)
    bodyCache[value] = result;
  return result;
}

//===----------------------------------------------------------------------===//
// Recognising the statistics.
//===----------------------------------------------------------------------===//

/// `e` without the (exact) float extensions on top.
static const Expr *strip(const Expr *e) {
  while (e && e->kind == Expr::Kind::Ext)
    e = e->lhs;
  return e;
}

/// Structural equality up to extensions; `+` and `*` commute.
static bool isEqual(const Expr *a, const Expr *b) {
  a = strip(a);
  b = strip(b);
  if (a == b)
    return true;
  if (!a || !b || a->kind != b->kind)
    return false;
  switch (a->kind) {
  case Expr::Kind::Leaf:
    return a->leaf == b->leaf && a->space == b->space;
  case Expr::Kind::Constant:
    return a->constant == b->constant;
  case Expr::Kind::Add:
  case Expr::Kind::Mul:
    return (isEqual(a->lhs, b->lhs) && isEqual(a->rhs, b->rhs)) ||
           (isEqual(a->lhs, b->rhs) && isEqual(a->rhs, b->lhs));
  default:
    return isEqual(a->lhs, b->lhs) && isEqual(a->rhs, b->rhs);
  }
}

namespace {
/// The statistics of one norm op, recognised on expression trees.
class StatisticRecognizer {
public:
  StatisticRecognizer(NormOpInterface op, Value residualSum, double rowSize)
      : input(op.getInput()), residual(op.getResidual()),
        residualSum(residualSum), epsValue(op.getEpsValue()),
        isLayerNorm(op.isLayerNorm()), rowSize(rowSize) {
    if (std::optional<APFloat> value = op.getEpsilon())
      epsilon = value->convertToDouble();
  }

  /// h: the input, or input + residual (or the op's own residual sum). The
  /// op rounds the sum to the input type, so the chain must add in the
  /// input type: `extf(x + r)` is h, `extf(x) + extf(r)` is not.
  bool isNormalizedInput(const Expr *e) const {
    e = strip(e);
    if (!e)
      return false;
    auto isLeaf = [](const Expr *e, Value v) {
      return v && e->kind == Expr::Kind::Leaf && e->space == Space::Full &&
             e->leaf == v;
    };
    if (!residual)
      return isLeaf(e, input);
    if (isLeaf(e, residualSum))
      return true;
    return e->kind == Expr::Kind::Add &&
           ((isLeaf(e->lhs, input) && isLeaf(e->rhs, residual)) ||
            (isLeaf(e->lhs, residual) && isLeaf(e->rhs, input)));
  }

  /// `inner / N` or `inner * (1/N)`: returns `inner`.
  const Expr *matchRowAverage(const Expr *e) const {
    e = strip(e);
    if (!e)
      return nullptr;
    auto isConstant = [](const Expr *e, double c, double tolerance) {
      e = strip(e);
      return e->kind == Expr::Kind::Constant &&
             std::abs(e->constant - c) <= tolerance * std::abs(c);
    };
    if (e->kind == Expr::Kind::Div && isConstant(e->rhs, rowSize, 0.0))
      return strip(e->lhs);
    // 1/N rounded to f32 or f16 is still the reciprocal of N.
    if (e->kind == Expr::Kind::Mul) {
      if (isConstant(e->rhs, 1.0 / rowSize, 1e-3))
        return strip(e->lhs);
      if (isConstant(e->lhs, 1.0 / rowSize, 1e-3))
        return strip(e->rhs);
    }
    return nullptr;
  }

  /// sum(h) / N.
  bool isMean(const Expr *e) const {
    const Expr *sum = matchRowAverage(e);
    return sum && sum->kind == Expr::Kind::Sum && isNormalizedInput(sum->lhs);
  }

  /// sum((h - mean)^2) / N for LayerNorm, sum(h^2) / N for RMSNorm.
  bool isVariance(const Expr *e) const {
    const Expr *sum = matchRowAverage(e);
    if (!sum || sum->kind != Expr::Kind::Sum)
      return false;
    const Expr *square = strip(sum->lhs);
    if (square->kind != Expr::Kind::Mul || !isEqual(square->lhs, square->rhs))
      return false;
    const Expr *d = strip(square->lhs);
    if (!isLayerNorm)
      return isNormalizedInput(d);
    return d->kind == Expr::Kind::Sub && isNormalizedInput(d->lhs) &&
           isMean(d->rhs);
  }

  /// The op's epsilon: its attribute's value (as rounded to any float
  /// type), or its eps operand.
  bool isEpsilon(const Expr *e) const {
    e = strip(e);
    if (epsilon)
      return e->kind == Expr::Kind::Constant &&
             std::abs(e->constant - *epsilon) <= 1e-3 * *epsilon;
    if (e->kind != Expr::Kind::Leaf || e->space != Space::Scalar)
      return false;
    if (e->leaf == epsValue)
      return true;
    auto extf = e->leaf.getDefiningOp<arith::ExtFOp>();
    return extf && extf.getIn() == epsValue;
  }

  /// rsqrt(var + eps) or 1 / sqrt(var + eps).
  bool isRstd(const Expr *e) const {
    e = strip(e);
    if (!e)
      return false;
    const Expr *sum = nullptr;
    if (e->kind == Expr::Kind::Rsqrt)
      sum = strip(e->lhs);
    else if (e->kind == Expr::Kind::Div &&
             strip(e->lhs)->kind == Expr::Kind::Constant &&
             strip(e->lhs)->constant == 1.0 &&
             strip(e->rhs)->kind == Expr::Kind::Sqrt)
      sum = strip(strip(e->rhs)->lhs);
    if (!sum || sum->kind != Expr::Kind::Add)
      return false;
    return (isVariance(sum->lhs) && isEpsilon(sum->rhs)) ||
           (isVariance(sum->rhs) && isEpsilon(sum->lhs));
  }

private:
  Value input, residual, residualSum, epsValue;
  std::optional<double> epsilon;
  bool isLayerNorm;
  double rowSize;
};
} // namespace

/// Whether `op` and everything that uses its results, transitively, is
/// free of side effects and ends unused (so it will be erased).
static bool isDeadOp(Operation *op, unsigned depth = 0) {
  if (depth > 16 || !wouldOpBeTriviallyDead(op))
    return false;
  for (Value result : op->getResults())
    for (Operation *user : result.getUsers())
      if (!isDeadOp(user, depth + 1))
        return false;
  return true;
}

std::optional<StatisticMatch>
mlir::norm::findSeparateStatistic(NormOpInterface op) {
  int64_t axis = op.getNormalizedAxis();
  int64_t rank = op.getInputType().getRank();
  ArrayRef<int64_t> normalizedShape =
      op.getInputType().getShape().drop_front(axis);
  if (ShapedType::isDynamicShape(normalizedShape))
    return std::nullopt;
  bool wantMean = op.isLayerNorm() && !op.getMean();
  bool wantRstd = !op.getRstd();
  if (!wantMean && !wantRstd)
    return std::nullopt;

  // The op's own residual sum result, if it has one.
  Value residualSum;
  if (op.getResidualOutput())
    residualSum = op->getResult(1);

  // Row-shaped values downstream of the op's inputs, breadth first.
  SmallVector<Value> roots = {op.getInput()};
  if (op.getResidual())
    roots.push_back(op.getResidual());
  if (residualSum)
    roots.push_back(residualSum);
  llvm::SetVector<Operation *> visited;
  SmallVector<Value> candidates;
  SmallVector<Value> frontier = roots;
  for (unsigned level = 0; level < 12 && !frontier.empty(); ++level) {
    SmallVector<Value> next;
    for (Value value : frontier) {
      for (Operation *user : value.getUsers()) {
        if (user == op.getOperation() || isa<NormOpInterface>(user) ||
            visited.size() > 256 || !visited.insert(user))
          continue;
        for (Value result : user->getResults()) {
          next.push_back(result);
          auto type = dyn_cast<RankedTensorType>(result.getType());
          if (type && type.getRank() == axis &&
              isa<FloatType>(type.getElementType()))
            candidates.push_back(result);
        }
      }
    }
    frontier = std::move(next);
  }

  // A statistic the op itself reads (say, as gamma) cannot become its result.
  auto isReplaceable = [&](Value value) {
    return !llvm::is_contained(op->getOperands(), value) &&
           llvm::any_of(value.getUsers(),
                        [](Operation *user) { return !isDeadOp(user); });
  };
  ExprBuilder builder(axis, rank);
  StatisticRecognizer recognizer(
      op, residualSum,
      static_cast<double>(ShapedType::getNumElements(normalizedShape)));
  if (wantRstd)
    for (Value candidate : candidates)
      if (isReplaceable(candidate) &&
          recognizer.isRstd(builder.build(candidate, Space::Row)))
        return StatisticMatch{StatisticKind::Rstd, candidate};
  if (wantMean)
    for (Value candidate : candidates)
      if (isReplaceable(candidate) &&
          recognizer.isMean(builder.build(candidate, Space::Row)))
        return StatisticMatch{StatisticKind::Mean, candidate};
  return std::nullopt;
}
