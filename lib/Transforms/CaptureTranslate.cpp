//===- CaptureTranslate.cpp - IR spellings into the capture expression view
//===//
//
// Each supported spelling is translated here, once, into the expression view
// of CaptureExpr.h:
//
// - any linalg structured op on tensors (generic, the named elementwise ops,
//   linalg.elementwise, map, reduce, broadcast, transpose, fill): its payload
//   is read with the loops bound to dims of the iteration space; a reduction
//   must accumulate `acc + g` and becomes `init + Reduce(g)`;
// - TOSA add/sub/mul/pow/rsqrt/reciprocal/negate/cast with their implicit
//   broadcasting of unit dims, reduce_sum (keepdim) and reshape (static
//   shapes only: a dynamic dim could broadcast at run time);
// - arith and math elementwise ops on tensors and on scalars, including the
//   integer and index arithmetic that turns `tensor.dim` into a float N;
// - tensor.expand_shape / collapse_shape / cast that only add or drop unit
//   dims, tensor.splat, and tensor.extract of a single element.
//
//===----------------------------------------------------------------------===//

#include "CaptureExpr.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::norm::capture;

bool mlir::norm::capture::readsAlongDim(AffineExpr result, unsigned dim,
                                        int64_t size, int64_t spaceSize) {
  if (auto d = dyn_cast<AffineDimExpr>(result); d && d.getPosition() == dim)
    return true;
  auto c = dyn_cast<AffineConstantExpr>(result);
  return c && c.getValue() == 0 && size == 1 && spaceSize == 1;
}

bool mlir::norm::capture::isWholeRead(AffineMap map, ShapedType type,
                                      ArrayRef<int64_t> space) {
  if (type.getRank() != static_cast<int64_t>(space.size()) ||
      map.getNumResults() != space.size())
    return false;
  for (auto [dim, result] : llvm::enumerate(map.getResults()))
    if (!readsAlongDim(result, dim, type.getDimSize(dim), space[dim]))
      return false;
  return true;
}

/// Deeper chains are left opaque (norm chains are a few dozen ops deep).
static constexpr unsigned kMaxDepth = 64;

/// The double value of an APFloat of any IEEE semantics.
static double toDouble(llvm::APFloat value) {
  bool losesInfo = false;
  value.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
  return value.convertToDouble();
}

/// Whether `map`'s results are each a dim or the constant 0.
static bool isDimOrZeroMap(AffineMap map) {
  return llvm::all_of(map.getResults(), [](AffineExpr e) {
    if (isa<AffineDimExpr>(e))
      return true;
    auto c = dyn_cast<AffineConstantExpr>(e);
    return c && c.getValue() == 0;
  });
}

/// The bitmask of dims used by `results`.
static uint64_t usedDims(ArrayRef<AffineExpr> results) {
  uint64_t mask = 0;
  for (AffineExpr e : results)
    if (auto dim = dyn_cast<AffineDimExpr>(e))
      mask |= uint64_t(1) << dim.getPosition();
  return mask;
}

/// Whether a sum over `reducedDims` of `summand` is a contraction (a matmul,
/// a convolution-like sum of products): the summand multiplies two factors
/// that both vary along the sum and each miss a dim the product varies
/// with (`A[i,k] * B[k,j]`). No norm statistic is one: it sums a function of
/// the normalised tensor, whose reads vary with every dim (a bias or a
/// previous norm's gamma may vary along the sum alone, but it is added to,
/// or multiplies, something that varies with every dim). The translation
/// stops at contractions instead of following their operands into the rest
/// of the model.
static bool isContraction(Expr *summand, uint64_t reducedDims) {
  auto isPartial = [&](Expr *factor, uint64_t productDeps) {
    return (factor->getDeps() & reducedDims) &&
           factor->getDeps() != productDeps;
  };
  SmallVector<Expr *> worklist = {summand};
  llvm::SmallPtrSet<Expr *, 16> seen;
  while (!worklist.empty()) {
    Expr *e = worklist.pop_back_val();
    if (!seen.insert(e).second || e->is(ExprKind::Reduce))
      continue;
    if (e->is(ExprKind::Mul) && isPartial(e->getLhs(), e->getDeps()) &&
        isPartial(e->getRhs(), e->getDeps()))
      return true;
    if (Expr *lhs = e->getLhs())
      worklist.push_back(lhs);
    if (Expr *rhs = e->getRhs())
      worklist.push_back(rhs);
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Scalar semantics of elementwise ops
//===----------------------------------------------------------------------===//

/// The product of two counts (`arith.muli` of dims); null on overflow.
static Expr *multiplyCounts(ExprContext &ctx, Expr *a, Expr *b, Type type) {
  int64_t product;
  if (llvm::MulOverflow(a->getStaticCount(), b->getStaticCount(), product))
    return nullptr;
  SmallVector<DimRef> dims(a->getCountDims());
  llvm::append_range(dims, b->getCountDims());
  return ctx.count(product, dims, type);
}

Expr *mlir::norm::capture::applyElementwiseOp(ExprContext &ctx, Operation *op,
                                              ArrayRef<Expr *> operands) {
  if (op->getNumResults() != 1 || llvm::is_contained(operands, nullptr))
    return nullptr;
  Type resultType = getElementTypeOrSelf(op->getResult(0).getType());
  auto retypeCount = [&](Expr *e) -> Expr * {
    if (!e->is(ExprKind::Count))
      return nullptr;
    return ctx.count(e->getStaticCount(), e->getCountDims(), resultType);
  };
  auto floatCast = [&](Expr *e) -> Expr * {
    unsigned from = e->getType().getIntOrFloatBitWidth();
    unsigned to = resultType.getIntOrFloatBitWidth();
    if (from < to)
      return ctx.ext(e, resultType);
    if (from > to)
      return ctx.trunc(e, resultType);
    return e->getType() == resultType ? e : nullptr;
  };
  auto constantExponent = [&](Expr *e) -> std::optional<double> {
    if (e->is(ExprKind::Constant))
      return e->getNumber();
    if (e->is(ExprKind::Count) && e->getCountDims().empty())
      return static_cast<double>(e->getStaticCount());
    return std::nullopt;
  };

  return llvm::TypeSwitch<Operation *, Expr *>(op)
      .Case<arith::AddFOp, tosa::AddOp>(
          [&](auto) { return ctx.add(operands[0], operands[1]); })
      .Case<arith::SubFOp, tosa::SubOp>(
          [&](auto) { return ctx.sub(operands[0], operands[1]); })
      .Case<arith::MulFOp, tosa::MulOp>(
          [&](auto) { return ctx.mul(operands[0], operands[1]); })
      .Case<arith::DivFOp>(
          [&](auto) { return ctx.div(operands[0], operands[1]); })
      .Case<arith::NegFOp, tosa::NegateOp>(
          [&](auto) { return ctx.neg(operands[0]); })
      .Case<math::SqrtOp>([&](auto) { return ctx.pow(operands[0], 0.5); })
      .Case<math::RsqrtOp, tosa::RsqrtOp>(
          [&](auto) { return ctx.pow(operands[0], -0.5); })
      .Case<tosa::ReciprocalOp>(
          [&](auto) { return ctx.pow(operands[0], -1.0); })
      .Case<math::PowFOp, math::FPowIOp, tosa::PowOp>([&](auto) -> Expr * {
        std::optional<double> exponent = constantExponent(operands[1]);
        if (!exponent)
          return nullptr;
        return ctx.pow(operands[0], *exponent);
      })
      .Case<arith::ExtFOp>(
          [&](auto) { return ctx.ext(operands[0], resultType); })
      .Case<arith::TruncFOp>([&](arith::TruncFOp truncf) -> Expr * {
        // The view's truncation rounds to nearest even.
        std::optional<arith::RoundingMode> mode = truncf.getRoundingmode();
        if (mode && *mode != arith::RoundingMode::to_nearest_even)
          return nullptr;
        return ctx.trunc(operands[0], resultType);
      })
      .Case<arith::MinimumFOp>(
          [&](auto) { return ctx.min(operands[0], operands[1]); })
      .Case<arith::MaximumFOp>(
          [&](auto) { return ctx.max(operands[0], operands[1]); })
      .Case<math::RoundEvenOp>(
          [&](auto) { return ctx.roundEven(operands[0]); })
      .Case<arith::FPToSIOp>([&](auto) -> Expr * {
        if (!isa<FloatType>(operands[0]->getType()))
          return nullptr;
        return ctx.toInt(operands[0], resultType);
      })
      .Case<tosa::CastOp>([&](auto) -> Expr * {
        if (!isa<FloatType>(operands[0]->getType()) ||
            !isa<FloatType>(resultType))
          return nullptr;
        return floatCast(operands[0]);
      })
      .Case<arith::SIToFPOp, arith::UIToFPOp, arith::IndexCastOp,
            arith::IndexCastUIOp, arith::ExtSIOp, arith::ExtUIOp>(
          [&](auto) { return retypeCount(operands[0]); })
      .Case<arith::MulIOp>([&](auto) -> Expr * {
        if (!operands[0]->is(ExprKind::Count) ||
            !operands[1]->is(ExprKind::Count))
          return nullptr;
        return multiplyCounts(ctx, operands[0], operands[1], resultType);
      })
      .Default([](Operation *) { return nullptr; });
}

//===----------------------------------------------------------------------===//
// Linalg payloads
//===----------------------------------------------------------------------===//

namespace mlir::norm::capture {
/// Reads the payload of one linalg op with its loops bound to expressions of
/// the iteration space (dims or 0).
class BodyTranslator {
public:
  BodyTranslator(ExprTranslator &parent, linalg::LinalgOp op,
                 ArrayRef<AffineExpr> binding, bool reducing)
      : parent(parent), ctx(parent.ctx), op(op), binding(binding),
        reducing(reducing) {}

  Expr *translate(Value value);

private:
  /// `map` (loops -> operand dims) composed with the binding.
  AffineMap compose(AffineMap map);

  ExprTranslator &parent;
  ExprContext &ctx;
  linalg::LinalgOp op;
  ArrayRef<AffineExpr> binding;
  bool reducing;
  DenseMap<Value, Expr *> memo;
};
} // namespace mlir::norm::capture

AffineMap BodyTranslator::compose(AffineMap map) {
  SmallVector<AffineExpr> results;
  MLIRContext *context = map.getContext();
  for (AffineExpr e : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      AffineExpr bound = binding[dim.getPosition()];
      if (!bound)
        return AffineMap();
      results.push_back(bound);
      continue;
    }
    auto c = dyn_cast<AffineConstantExpr>(e);
    if (!c || c.getValue() != 0)
      return AffineMap();
    results.push_back(e);
  }
  return AffineMap::get(ctx.getRank(), 0, results, context);
}

Expr *BodyTranslator::translate(Value value) {
  if (Expr *e = memo.lookup(value))
    return e;
  Block *body = op.getBlock();
  Expr *result = nullptr;
  if (auto arg = dyn_cast<BlockArgument>(value);
      arg && arg.getOwner() == body) {
    if (arg.getArgNumber() >= op->getNumOperands())
      return nullptr;
    OpOperand &operand = op->getOpOperand(arg.getArgNumber());
    // A sum's accumulator (also read through an input of the same buffer,
    // as memref front ends write it) is not part of its summand.
    if (reducing && (op.isDpsInit(&operand) ||
                     llvm::is_contained(op.getDpsInits(), operand.get())))
      return nullptr;
    if (!isa<ShapedType>(operand.get().getType())) {
      result = parent.translateScalar(operand.get());
    } else {
      AffineMap map = compose(op.getMatchingIndexingMap(&operand));
      if (!map)
        return nullptr;
      result = parent.translateOperand(operand.get(), map, op);
    }
  } else if (Operation *def = value.getDefiningOp();
             def && op->isProperAncestor(def)) {
    if (def->getBlock() != body)
      return nullptr;
    if (Attribute attr; matchPattern(def, m_Constant(&attr))) {
      if (auto f = dyn_cast<FloatAttr>(attr))
        result = ctx.constant(toDouble(f.getValue()), f.getType());
      else if (auto i = dyn_cast<IntegerAttr>(attr))
        result = ctx.count(i.getValue().getSExtValue(), {}, i.getType());
    } else {
      SmallVector<Expr *> operands;
      for (Value operand : def->getOperands()) {
        Expr *e = translate(operand);
        if (!e)
          return nullptr;
        operands.push_back(e);
      }
      result = applyElementwiseOp(ctx, def, operands);
      if (result)
        parent.noteOrigin(result, def);
    }
  } else {
    // Defined above the op: a scalar captured by the payload.
    result = parent.translateScalar(value);
  }
  if (result)
    memo[value] = result;
  return result;
}

//===----------------------------------------------------------------------===//
// ExprTranslator
//===----------------------------------------------------------------------===//

void ExprTranslator::noteDim(Value tensor, unsigned dim, unsigned spaceDim) {
  auto [it, inserted] =
      dimOrigins.try_emplace({tensor, dim}, static_cast<int>(spaceDim));
  if (!inserted && it->second != static_cast<int>(spaceDim))
    it->second = -1;
}

std::optional<unsigned> ExprTranslator::resolveDim(Value tensor,
                                                   unsigned dim) const {
  auto it = dimOrigins.find({tensor, dim});
  if (it == dimOrigins.end() || it->second < 0)
    return std::nullopt;
  return static_cast<unsigned>(it->second);
}

Expr *ExprTranslator::makeLoad(Value tensor, AffineMap map) {
  auto type = cast<ShapedType>(tensor.getType());
  for (auto [dim, result] : llvm::enumerate(map.getResults()))
    if (auto spaceDim = dyn_cast<AffineDimExpr>(result);
        spaceDim && type.getDimSize(dim) != 1)
      noteDim(tensor, dim, spaceDim.getPosition());
  return ctx.load(tensor, map);
}

AffineMap mlir::norm::capture::canonicalizeUnitDims(AffineMap map,
                                                   ShapedType type) {
  SmallVector<AffineExpr> results(map.getResults());
  bool changed = false;
  for (auto [dim, result] : llvm::enumerate(results)) {
    if (type.getDimSize(dim) != 1 || isa<AffineConstantExpr>(result))
      continue;
    result = getAffineConstantExpr(0, map.getContext());
    changed = true;
  }
  if (!changed)
    return map;
  return AffineMap::get(map.getNumDims(), 0, results, map.getContext());
}

bool ExprTranslator::lookupMemo(const MemoEntry *entry, Expr *&expr) const {
  // A translation cut short by the depth limit is redone when the value is
  // reached again nearer the root: a constant or an accumulator's fill
  // shared by every norm of a model is first met deep inside an earlier
  // norm's input.
  if (!entry || (entry->partial && depth < entry->depth))
    return false;
  expr = entry->expr;
  return true;
}

bool ExprTranslator::enter() {
  if (depth >= kMaxDepth || budget == 0) {
    ++cutoffs;
    return false;
  }
  --budget;
  ++depth;
  return true;
}

Expr *ExprTranslator::translate(Value tensor, AffineMap map) {
  auto type = dyn_cast<RankedTensorType>(tensor.getType());
  assert(type && map.getNumResults() == type.getRank() &&
         map.getNumDims() == ctx.getRank() && "malformed tensor read");
  map = canonicalizeUnitDims(map, type);
  auto key = std::make_pair(tensor, map);
  Expr *expr = nullptr;
  auto it = tensorMemo.find(key);
  if (lookupMemo(it == tensorMemo.end() ? nullptr : &it->second, expr))
    return expr;
  unsigned startDepth = depth;
  unsigned startCutoffs = cutoffs;
  Operation *op = tensor.getDefiningOp();
  if (op && isa<FloatType, IntegerType>(type.getElementType()) &&
      (!lookThrough || lookThrough(op)) && enter()) {
    expr = translateOp(op, tensor, map);
    --depth;
    if (expr && !op->hasTrait<OpTrait::ConstantLike>()) {
      visitedOps.insert(op);
      noteOrigin(expr, op);
    }
  }
  if (!expr)
    expr = makeLoad(tensor, map);
  tensorMemo[key] = {expr, startDepth, cutoffs != startCutoffs};
  noteWholeRead(tensor, map, expr);
  return expr;
}

void ExprTranslator::noteWholeRead(Value value, AffineMap map, Expr *expr) {
  auto type = cast<ShapedType>(value.getType());
  if (!isWholeRead(map, type, ctx.getShape()))
    return;
  materialized.try_emplace(expr, value);
  for (unsigned dim = 0, e = type.getRank(); dim < e; ++dim)
    if (type.getDimSize(dim) != 1)
      noteDim(value, dim, dim);
}

Expr *ExprTranslator::translateOp(Operation *op, Value result, AffineMap map) {
  if (DenseElementsAttr attr; matchPattern(result, m_Constant(&attr))) {
    if (!attr.isSplat() || !isa<FloatType>(attr.getElementType()))
      return nullptr;
    return ctx.constant(toDouble(attr.getSplatValue<APFloat>()),
                        attr.getElementType());
  }
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return translateLinalg(op, cast<OpResult>(result).getResultNumber(), map);
  if (isa<tosa::TosaDialect>(op->getDialect()))
    return translateTosa(op, result, map);
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::CastOp>(op))
    return translateReshape(op, result, map);
  if (auto splat = dyn_cast<tensor::SplatOp>(op))
    return translateScalar(splat.getInput());
  if (op->hasTrait<OpTrait::Elementwise>())
    return translateElementwise(op, map);
  return nullptr;
}

Expr *ExprTranslator::translateLinalg(Operation *op, unsigned resultNumber,
                                      AffineMap map) {
  auto linalgOp = cast<linalg::LinalgOp>(op);
  if (!(linalgOp.hasPureTensorSemantics() ||
        linalgOp.hasPureBufferSemantics()) ||
      !isDimOrZeroMap(map))
    return nullptr;
  OpOperand *init = linalgOp.getDpsInitOperand(resultNumber);
  AffineMap outMap = linalgOp.getMatchingIndexingMap(init);
  unsigned numLoops = linalgOp.getNumLoops();

  // Bind the loops the result is indexed by to the read's expressions.
  SmallVector<AffineExpr> binding(numLoops);
  for (auto [pos, e] : llvm::enumerate(outMap.getResults())) {
    if (auto loop = dyn_cast<AffineDimExpr>(e)) {
      AffineExpr bound = map.getResult(pos);
      AffineExpr &slot = binding[loop.getPosition()];
      if (slot && slot != bound)
        return nullptr;
      slot = bound;
      continue;
    }
    auto c = dyn_cast<AffineConstantExpr>(e);
    if (!c || c.getValue() != 0)
      return nullptr;
  }

  // The remaining loops are summed over: bind each to a fresh dim of the
  // space, preferring the dim at the loop's own position.
  SmallVector<utils::IteratorType> iterators = linalgOp.getIteratorTypesArray();
  uint64_t taken = usedDims(map.getResults());
  uint64_t reduced = 0;
  SmallVector<unsigned> pending;
  for (unsigned loop = 0; loop < numLoops; ++loop) {
    if (binding[loop])
      continue;
    if (iterators[loop] != utils::IteratorType::reduction)
      return nullptr;
    uint64_t bit = uint64_t(1) << loop;
    if (loop < ctx.getRank() && !(taken & bit)) {
      binding[loop] = getAffineDimExpr(loop, op->getContext());
      taken |= bit;
      reduced |= bit;
      continue;
    }
    pending.push_back(loop);
  }
  if (pending.size() > 1)
    return nullptr;
  if (pending.size() == 1) {
    uint64_t free = ctx.getAllDims() & ~taken;
    if (llvm::popcount(free) != 1)
      return nullptr;
    unsigned dim = llvm::countr_zero(free);
    binding[pending.front()] = getAffineDimExpr(dim, op->getContext());
    reduced |= uint64_t(1) << dim;
  }

  Block *body = linalgOp.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield.getNumOperands() <= resultNumber)
    return nullptr;
  Value yielded = yield.getOperand(resultNumber);
  BodyTranslator bodyTranslator(*this, linalgOp, binding, reduced != 0);
  if (!reduced)
    return bodyTranslator.translate(yielded);

  // A sum: the payload must yield `acc + g` with g free of accumulators.
  auto addOp = yielded.getDefiningOp<arith::AddFOp>();
  if (!addOp || addOp->getBlock() != body)
    return nullptr;
  // The accumulator is the init's block argument or, on buffers, that of an
  // input reading the init's buffer at the same indices.
  auto isAccumulator = [&](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != body)
      return false;
    OpOperand &operand = op->getOpOperand(arg.getArgNumber());
    return &operand == init ||
           (operand.get() == init->get() &&
            linalgOp.getMatchingIndexingMap(&operand) == outMap);
  };
  Value term;
  if (isAccumulator(addOp.getLhs()))
    term = addOp.getRhs();
  else if (isAccumulator(addOp.getRhs()))
    term = addOp.getLhs();
  else
    return nullptr;
  Expr *summand = bodyTranslator.translate(term);
  if (!summand || isContraction(summand, reduced))
    return nullptr;
  Expr *start = translateOperand(init->get(), map, op);
  Expr *sum = ctx.reduce(summand, reduced);
  noteOrigin(sum, addOp);
  return ctx.add(start, sum);
}

Expr *ExprTranslator::translateTosa(Operation *op, Value result,
                                    AffineMap map) {
  auto resultType = cast<RankedTensorType>(result.getType());
  // A dynamic dim could broadcast at run time; a unary op cannot broadcast.
  bool unary = isa<tosa::CastOp, tosa::RsqrtOp, tosa::ReciprocalOp,
                   tosa::NegateOp>(op);
  if (!resultType.hasStaticShape() && !unary)
    return nullptr;
  if (isa<tosa::ReshapeOp>(op))
    return translateReshape(op, result, map);

  // TOSA broadcasts unit dims of operands of the same rank.
  auto operandMap = [&](Value operand) -> AffineMap {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (unary && type && type.getShape() == resultType.getShape())
      return map;
    if (!type || !type.hasStaticShape() ||
        type.getRank() != resultType.getRank())
      return AffineMap();
    SmallVector<AffineExpr> results;
    for (int64_t dim = 0, e = type.getRank(); dim < e; ++dim) {
      if (type.getDimSize(dim) == 1 && resultType.getDimSize(dim) != 1)
        results.push_back(getAffineConstantExpr(0, op->getContext()));
      else
        results.push_back(map.getResult(dim));
    }
    return AffineMap::get(ctx.getRank(), 0, results, op->getContext());
  };
  auto translateOperand = [&](Value operand) -> Expr * {
    AffineMap operandReadMap = operandMap(operand);
    if (!operandReadMap)
      return nullptr;
    return translate(operand, operandReadMap);
  };

  if (auto reduceOp = dyn_cast<tosa::ReduceSumOp>(op)) {
    // Keepdim: sum over the dim of the space at the axis' position.
    auto inputType = dyn_cast<RankedTensorType>(reduceOp.getInput().getType());
    int64_t axis = reduceOp.getAxis();
    if (!inputType || !inputType.hasStaticShape() ||
        inputType.getRank() != ctx.getRank() || axis < 0 ||
        axis >= inputType.getRank())
      return nullptr;
    SmallVector<AffineExpr> results(map.getResults());
    results[axis] = getAffineConstantExpr(0, op->getContext());
    uint64_t bit = uint64_t(1) << axis;
    if (usedDims(results) & bit)
      return nullptr;
    results[axis] = getAffineDimExpr(axis, op->getContext());
    Expr *summand =
        translate(reduceOp.getInput(),
                  AffineMap::get(ctx.getRank(), 0, results, op->getContext()));
    if (isContraction(summand, bit))
      return nullptr;
    Expr *sum = ctx.reduce(summand, bit);
    noteOrigin(sum, op);
    return sum;
  }

  if (auto mulOp = dyn_cast<tosa::MulOp>(op)) {
    DenseIntElementsAttr shift;
    if (!matchPattern(mulOp.getShift(), m_Constant(&shift)) ||
        !shift.isSplat() || !shift.getSplatValue<APInt>().isZero())
      return nullptr;
    Expr *lhs = translateOperand(mulOp.getInput1());
    Expr *rhs = translateOperand(mulOp.getInput2());
    if (!lhs || !rhs)
      return nullptr;
    return ctx.mul(lhs, rhs);
  }

  if (auto negateOp = dyn_cast<tosa::NegateOp>(op)) {
    FailureOr<int64_t> inputZp = negateOp.getInput1ZeroPoint();
    FailureOr<int64_t> outputZp = negateOp.getOutputZeroPoint();
    if (failed(inputZp) || failed(outputZp) || *inputZp || *outputZp)
      return nullptr;
    Expr *input = translateOperand(negateOp.getInput1());
    return input ? ctx.neg(input) : nullptr;
  }

  if (!isa<tosa::AddOp, tosa::SubOp, tosa::PowOp, tosa::RsqrtOp,
           tosa::ReciprocalOp, tosa::CastOp>(op))
    return nullptr;
  SmallVector<Expr *> operands;
  for (Value operand : op->getOperands()) {
    Expr *e = translateOperand(operand);
    if (!e)
      return nullptr;
    operands.push_back(e);
  }
  return applyElementwiseOp(ctx, op, operands);
}

Expr *ExprTranslator::translateReshape(Operation *op, Value result,
                                       AffineMap map) {
  MLIRContext *context = op->getContext();
  Value source = op->getOperand(0);
  auto sourceType = dyn_cast<RankedTensorType>(source.getType());
  auto resultType = cast<RankedTensorType>(result.getType());
  if (!sourceType)
    return nullptr;
  AffineExpr zero = getAffineConstantExpr(0, context);
  SmallVector<AffineExpr> results;

  if (isa<tensor::CastOp>(op)) {
    if (sourceType.getRank() != resultType.getRank())
      return nullptr;
    results.assign(map.getResults().begin(), map.getResults().end());
  } else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    // Each source dim is a group of result dims of which at most one is
    // not a static unit dim.
    for (ReassociationIndices group : expand.getReassociationIndices()) {
      AffineExpr index = zero;
      unsigned nonUnit = 0;
      for (int64_t dim : group) {
        if (resultType.getDimSize(dim) == 1)
          continue;
        ++nonUnit;
        index = map.getResult(dim);
      }
      if (nonUnit > 1)
        return nullptr;
      results.push_back(index);
    }
  } else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    results.assign(sourceType.getRank(), zero);
    for (auto [resultDim, group] :
         llvm::enumerate(collapse.getReassociationIndices())) {
      unsigned nonUnit = 0;
      for (int64_t dim : group) {
        if (sourceType.getDimSize(dim) == 1)
          continue;
        ++nonUnit;
        results[dim] = map.getResult(resultDim);
      }
      if (nonUnit > 1)
        return nullptr;
    }
  } else if (isa<tosa::ReshapeOp>(op)) {
    // Static reshapes that only insert or drop unit dims.
    if (!sourceType.hasStaticShape() || !resultType.hasStaticShape())
      return nullptr;
    SmallVector<int64_t> sourceDims, resultDims;
    for (int64_t dim = 0; dim < sourceType.getRank(); ++dim)
      if (sourceType.getDimSize(dim) != 1)
        sourceDims.push_back(dim);
    for (int64_t dim = 0; dim < resultType.getRank(); ++dim)
      if (resultType.getDimSize(dim) != 1)
        resultDims.push_back(dim);
    if (sourceDims.size() != resultDims.size())
      return nullptr;
    results.assign(sourceType.getRank(), zero);
    for (auto [s, r] : llvm::zip_equal(sourceDims, resultDims)) {
      if (sourceType.getDimSize(s) != resultType.getDimSize(r))
        return nullptr;
      results[s] = map.getResult(r);
    }
  } else {
    return nullptr;
  }
  return translate(source, AffineMap::get(ctx.getRank(), 0, results, context));
}

Expr *ExprTranslator::translateElementwise(Operation *op, AffineMap map) {
  if (op->getNumResults() != 1)
    return nullptr;
  auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!resultType)
    return nullptr;
  SmallVector<Expr *> operands;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (!type || type.getShape() != resultType.getShape())
      return nullptr;
    if (isa<FloatType>(type.getElementType())) {
      operands.push_back(translate(operand, map));
      continue;
    }
    // Integer exponents of math.fpowi: splat constants only.
    DenseIntElementsAttr attr;
    if (!matchPattern(operand, m_Constant(&attr)) || !attr.isSplat())
      return nullptr;
    operands.push_back(ctx.count(attr.getSplatValue<APInt>().getSExtValue(), {},
                                 type.getElementType()));
  }
  return applyElementwiseOp(ctx, op, operands);
}

Expr *ExprTranslator::translateScalar(Value scalar) {
  Expr *result = nullptr;
  auto it = scalarMemo.find(scalar);
  if (lookupMemo(it == scalarMemo.end() ? nullptr : &it->second, result))
    return result;
  unsigned startDepth = depth;
  unsigned startCutoffs = cutoffs;
  Operation *op = scalar.getDefiningOp();
  if (op && enter()) {
    if (Attribute attr; matchPattern(op, m_Constant(&attr))) {
      if (auto f = dyn_cast<FloatAttr>(attr))
        result = ctx.constant(toDouble(f.getValue()), f.getType());
      else if (auto i = dyn_cast<IntegerAttr>(attr))
        result = ctx.count(i.getValue().getSExtValue(), {}, i.getType());
    } else if (isa<tensor::DimOp, memref::DimOp>(op)) {
      Value source = op->getOperand(0);
      auto type = dyn_cast<ShapedType>(source.getType());
      std::optional<int64_t> index = getConstantIntValue(op->getOperand(1));
      if (type && index && *index >= 0 && *index < type.getRank()) {
        int64_t size = type.getDimSize(*index);
        if (!ShapedType::isDynamic(size))
          result = ctx.count(size, {}, scalar.getType());
        else
          result = ctx.count(
              1, {DimRef{source, static_cast<unsigned>(*index)}},
              scalar.getType());
      }
    } else if (auto load = dyn_cast<memref::LoadOp>(op)) {
      // A single-element read of a buffer (a run-time eps) at index 0.
      MemRefType type = load.getMemRefType();
      bool allZero = llvm::all_of(load.getIndices(), [](Value index) {
        return matchPattern(index, m_Zero());
      });
      if (allZero && isa<FloatType>(type.getElementType())) {
        SmallVector<AffineExpr> zeros(
            type.getRank(), getAffineConstantExpr(0, op->getContext()));
        result = translateBuffer(
            load.getMemref(),
            AffineMap::get(ctx.getRank(), 0, zeros, op->getContext()), op);
      }
    } else if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
      // A single-element read at index 0 of every dim.
      auto type = extract.getTensor().getType();
      bool allZero = llvm::all_of(extract.getIndices(), [](Value index) {
        return matchPattern(index, m_Zero());
      });
      if (allZero && isa<FloatType>(type.getElementType())) {
        SmallVector<AffineExpr> zeros(
            type.getRank(), getAffineConstantExpr(0, op->getContext()));
        result = translate(
            extract.getTensor(),
            AffineMap::get(ctx.getRank(), 0, zeros, op->getContext()));
      }
    } else if (op->getNumResults() == 1 &&
               llvm::none_of(op->getOperandTypes(),
                             llvm::IsaPred<ShapedType>)) {
      SmallVector<Expr *> operands;
      for (Value operand : op->getOperands())
        operands.push_back(translateScalar(operand));
      result = applyElementwiseOp(ctx, op, operands);
    }
    --depth;
    if (result && !op->hasTrait<OpTrait::ConstantLike>()) {
      visitedOps.insert(op);
      noteOrigin(result, op);
    }
  }
  if (!result)
    result = ctx.scalar(scalar);
  scalarMemo[scalar] = {result, startDepth, cutoffs != startCutoffs};
  return result;
}

/// The map reading a value shaped like the trailing dims of a space of
/// `numLoops` dims, the first `rows` summed away.
static AffineMap getTrailingDimsMap(unsigned numLoops, unsigned rows,
                                    MLIRContext *ctx) {
  SmallVector<AffineExpr> trailing;
  for (unsigned d = rows; d < numLoops; ++d)
    trailing.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(numLoops, 0, trailing, ctx);
}

FailureOr<ColumnSumView> mlir::norm::capture::getColumnSumView(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return failure();
  MLIRContext *ctx = value.getContext();
  unsigned rank = type.getRank();
  auto finish = [&](ArrayRef<int64_t> space) -> FailureOr<ColumnSumView> {
    unsigned numLoops = space.size();
    if (numLoops <= rank || numLoops > 64)
      return failure();
    unsigned rows = numLoops - rank;
    return ColumnSumView{SmallVector<int64_t>(space),
                         getTrailingDimsMap(numLoops, rows, ctx), rows};
  };

  if (auto linalgOp = value.getDefiningOp<linalg::LinalgOp>()) {
    unsigned index = cast<OpResult>(value).getResultNumber();
    if (!linalgOp.hasPureTensorSemantics() ||
        index >= linalgOp.getNumDpsInits())
      return failure();
    FailureOr<ColumnSumView> view = finish(linalgOp.getStaticLoopRanges());
    if (failed(view) || linalgOp.getMatchingIndexingMap(
                            linalgOp.getDpsInitOperand(index)) != view->readMap)
      return failure();
    return view;
  }

  auto reshape = value.getDefiningOp<tosa::ReshapeOp>();
  if (!reshape)
    return failure();
  uint64_t axes = 0;
  Value summed = reshape.getInput1();
  while (auto reduce = summed.getDefiningOp<tosa::ReduceSumOp>()) {
    int64_t axis = reduce.getAxis();
    if (axis < 0 || axis >= 64 || (axes & (uint64_t(1) << axis)))
      return failure();
    axes |= uint64_t(1) << axis;
    summed = reduce.getInput();
  }
  auto spaceType = dyn_cast<RankedTensorType>(summed.getType());
  if (!axes || !spaceType || !spaceType.hasStaticShape())
    return failure();
  FailureOr<ColumnSumView> view = finish(spaceType.getShape());
  if (failed(view) || axes != (uint64_t(1) << view->rows) - 1 ||
      type.getShape() != spaceType.getShape().drop_front(view->rows))
    return failure();
  return view;
}
