//===- NormFuse.cpp - Absorb neighbouring ops into norm ops ---------------===//
//
// The patterns of `--norm-fuse`, on tensors:
//
//   residual   y = norm(a + b)             -> norm ins(a) residual(b); other
//              users of a + b use the op's residual sum result
//   gamma      norm(x) * w                 -> gamma(w), or gamma(g * w) and
//              beta(b * w) when present     (w broadcast along the rows)
//   beta       layer_norm(x) + w           -> beta(w), or beta(b + w)
//   cast       truncf(norm(x))             -> the narrower output type
//   quantise   fptosi(clamp(roundeven(norm(x) / s), -128, 127)) -> i8 output
//              truncf(clamp(norm(x) / s, -448, 448)) -> f8E4M3FN output
//   dynamic    the same with s = min(max(amax(|norm(x)|) / qmax, floor), ub)
//   quantise   per row -> a quantised output with a scales destination;
//              per group of G, the same on norm(x) reshaped to
//              [rows, N/G, G] -> group_size(G), scales [rows, N/G]
//   statistics a separately computed mean / rstd of the norm's input
//              -> the op's mean / rstd results (see RowStatistics.h)
//   gradient   a gradient op recomputing the statistics of a forward op's
//              input -> the forward op's mean / rstd results; two gradient
//              ops of one norm (dx, dgamma captured apart) -> one op
//
// Neighbours are recognised in the capture's expression view (FuseMatch.h,
// RowStatistics.h): `arith`/`math` ops on tensors, any `linalg` structured
// op (and the `linalg.broadcast` feeding it), `tosa` ops with their
// broadcasting, read alike. A pattern fuses only what it can prove has the
// op's semantics: a weight must be broadcast along the row dimensions
// exactly, an add feeding the input must not broadcast, a cast must round
// to nearest even from the compute type, a quantisation chain must divide
// by the scale, round half to even and clamp to the full range with
// NaN-propagating min/max. What fusion may change is rounding: the fused op
// rounds once, in the compute type, where the original rounded after each
// step.
//
//===----------------------------------------------------------------------===//

#include "norm/Transforms/Passes.h"

#include "CaptureExpr.h"
#include "FuseMatch.h"
#include "RowStatistics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "llvm/ADT/SetVector.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMFUSE
#include "norm/Transforms/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

//===----------------------------------------------------------------------===//
// Rebuilding norm ops.
//===----------------------------------------------------------------------===//

namespace {
/// The operands of a norm op by role; absent optionals are null. A fusion
/// edits a copy and builds a new op from it.
struct NormOperands {
  Value input, residual, gamma, beta, epsValue, outScale, scaleUb;
  Value output, residualOutput, mean, rstd, scales;

  static NormOperands get(NormOpInterface op) {
    return {op.getInput(),   op.getResidual(), op.getGamma(),
            op.getBeta(),    op.getEpsValue(), op.getOutScale(),
            op.getScaleUb(), op.getOutput(),   op.getResidualOutput(),
            op.getMean(),    op.getRstd(),     op.getScales()};
  }

  /// The values the new op reads (not its destinations).
  SmallVector<Value> getInputs() const {
    SmallVector<Value> values;
    for (Value v : {input, residual, gamma, beta, epsValue, outScale, scaleUb})
      if (v)
        values.push_back(v);
    return values;
  }

  /// The destinations, in result order.
  SmallVector<Value> getInits() const {
    SmallVector<Value> values;
    for (Value v : {output, residualOutput, mean, rstd, scales})
      if (v)
        values.push_back(v);
    return values;
  }
};

/// The results of a norm op on tensors, by role.
struct NormResults {
  Value output, residualSum, mean, rstd, scales;

  static NormResults get(Operation *op, const NormOperands &operands) {
    NormResults results;
    unsigned next = 0;
    results.output = op->getResult(next++);
    if (operands.residualOutput)
      results.residualSum = op->getResult(next++);
    if (operands.mean)
      results.mean = op->getResult(next++);
    if (operands.rstd)
      results.rstd = op->getResult(next++);
    if (operands.scales)
      results.scales = op->getResult(next++);
    return results;
  }
};
} // namespace

/// Builds a norm op of the same kind, axis, epsilon and discardable
/// attributes as `prototype` from `operands`.
static NormOpInterface buildNormOp(OpBuilder &b, NormOpInterface prototype,
                                   const NormOperands &o) {
  Location loc = prototype->getLoc();
  SmallVector<Type> resultTypes;
  for (Value init : o.getInits())
    resultTypes.push_back(init.getType());
  auto axis = prototype->getAttrOfType<IntegerAttr>("axis");
  auto epsilon = prototype->getAttrOfType<FloatAttr>("epsilon");
  auto groupSize = prototype->getAttrOfType<IntegerAttr>("group_size");
  auto minScale = prototype->getAttrOfType<FloatAttr>("min_scale");
  Operation *op;
  if (isa<LayerNormOp>(prototype))
    op = LayerNormOp::create(b, loc, resultTypes, o.input, o.residual, o.gamma,
                             o.beta, o.epsValue, o.outScale, o.scaleUb,
                             o.output, o.residualOutput, o.mean, o.rstd,
                             o.scales, axis, epsilon, groupSize, minScale);
  else
    op = RMSNormOp::create(b, loc, resultTypes, o.input, o.residual, o.gamma,
                           o.epsValue, o.outScale, o.scaleUb, o.output,
                           o.residualOutput, o.rstd, o.scales, axis, epsilon,
                           groupSize, minScale);
  op->setDiscardableAttrs(prototype->getDiscardableAttrDictionary());
  return cast<NormOpInterface>(op);
}

/// Erases the definitions of `values` that are now trivially dead, then
/// those of their operands, and so on: a fusion leaves no dead producers
/// behind. (The pass runs no general clean-up, so as to leave IR it does not
/// fuse exactly as it was.)
static void eraseDeadDefinitions(RewriterBase &rewriter, ValueRange values) {
  llvm::SetVector<Operation *> worklist;
  for (Value value : values)
    if (Operation *def = value.getDefiningOp())
      worklist.insert(def);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!isOpTriviallyDead(op))
      continue;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        worklist.insert(def);
    rewriter.eraseOp(op);
  }
}

/// Replaces every result of `oldOp` that has uses with the result of the
/// same role of `newOp`, then erases `oldOp` and what only it used. Results
/// without uses may have no counterpart (a fused consumer already took the
/// output's only use).
static void replaceNormOp(RewriterBase &rewriter, NormOpInterface oldOp,
                          const NormOperands &oldOperands, Operation *newOp,
                          const NormOperands &newOperands) {
  NormResults from = NormResults::get(oldOp, oldOperands);
  NormResults to = NormResults::get(newOp, newOperands);
  auto forward = [&](Value oldValue, Value newValue) {
    if (oldValue && !oldValue.use_empty())
      rewriter.replaceAllUsesWith(oldValue, newValue);
  };
  forward(from.output, to.output);
  forward(from.residualSum, to.residualSum);
  forward(from.mean, to.mean);
  forward(from.rstd, to.rstd);
  forward(from.scales, to.scales);
  SmallVector<Value> operands(oldOp->getOperands());
  rewriter.eraseOp(oldOp);
  eraseDeadDefinitions(rewriter, operands);
}

/// Replaces the consumer of `oldOp`'s output by `newOp`'s output (or by
/// `output`, a view of it), then `oldOp` by `newOp`, erasing what only they
/// used. `view`, if any, is the view of `oldOp`'s output the consumer read;
/// it goes with the consumer.
static void
replaceNormOpAndConsumer(RewriterBase &rewriter, NormOpInterface oldOp,
                         const NormOperands &oldOperands, Operation *consumer,
                         Operation *newOp, const NormOperands &newOperands,
                         Value output = {}, Operation *view = nullptr) {
  SmallVector<Value> consumerOperands;
  for (Value operand : consumer->getOperands())
    if (operand.getDefiningOp() != oldOp.getOperation() &&
        operand.getDefiningOp() != view)
      consumerOperands.push_back(operand);
  rewriter.replaceOp(consumer, output ? output : newOp->getResult(0));
  if (view)
    rewriter.eraseOp(view);
  replaceNormOp(rewriter, oldOp, oldOperands, newOp, newOperands);
  eraseDeadDefinitions(rewriter, consumerOperands);
}

/// A `tensor.empty` shaped like the ranked tensor `like`, of `elementType`.
static Value createEmptyLike(OpBuilder &b, Location loc, Value like,
                             Type elementType) {
  return tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, like),
                                 elementType);
}

//===----------------------------------------------------------------------===//
// Where the fused op can go.
//===----------------------------------------------------------------------===//

/// Whether `value` is defined by a constant-like op that can be cloned to
/// wherever it is needed.
static bool isClonableConstant(Value value) {
  Operation *def = value.getDefiningOp();
  return def && def->hasTrait<OpTrait::ConstantLike>() &&
         def->getNumOperands() == 0;
}

/// Whether `value` is available before `point`, or can be made so by
/// cloning its definition there: a constant, or a `tensor.empty` whose
/// sizes are available (destinations often are defined just before use).
static bool isAvailableAt(DominanceInfo &dominance, Value value,
                          Operation *point) {
  if (dominance.properlyDominates(value, point) || isClonableConstant(value))
    return true;
  auto empty = value.getDefiningOp<tensor::EmptyOp>();
  return empty && llvm::all_of(empty->getOperands(), [&](Value size) {
           return dominance.properlyDominates(size, point);
         });
}

/// The first of `candidates` before which an op reading `operands` can be
/// created and still dominate every op in `users`; null if none. Values the
/// caller can clone there (see `materializeAt`) do not constrain the choice.
static Operation *findInsertionPoint(ArrayRef<Operation *> candidates,
                                     ArrayRef<Value> operands,
                                     ArrayRef<Operation *> users) {
  DominanceInfo dominance;
  for (Operation *candidate : candidates) {
    if (!candidate)
      continue;
    bool ok = llvm::all_of(operands, [&](Value v) {
      return isAvailableAt(dominance, v, candidate);
    });
    ok = ok && llvm::all_of(users, [&](Operation *user) {
           return dominance.dominates(candidate, user);
         });
    if (ok)
      return candidate;
  }
  return nullptr;
}

/// `value`, or a clone of its definition (a constant or `tensor.empty`) at
/// the builder's insertion point when the original is not available there.
static Value materializeAt(OpBuilder &b, Value value) {
  if (!value)
    return value;
  Operation *insertionPoint = &*b.getInsertionPoint();
  if (DominanceInfo().properlyDominates(value, insertionPoint))
    return value;
  return b.clone(*value.getDefiningOp())->getResult(0);
}

/// Makes every operand of `o` available at the builder's insertion point.
static void materializeAt(OpBuilder &b, NormOperands &o) {
  for (Value *v :
       {&o.input, &o.residual, &o.gamma, &o.beta, &o.epsValue, &o.outScale,
        &o.scaleUb, &o.output, &o.residualOutput, &o.mean, &o.rstd, &o.scales})
    *v = materializeAt(b, *v);
}

/// The users of every result of `op` but `except`.
static SmallVector<Operation *> getUsersOfOtherResults(Operation *op,
                                                       Value except) {
  SmallVector<Operation *> users;
  for (Value result : op->getResults())
    if (result != except)
      llvm::append_range(users, result.getUsers());
  return users;
}

//===----------------------------------------------------------------------===//
// Elementwise binary ops, in their several spellings.
//===----------------------------------------------------------------------===//

namespace {
enum class BinaryKind { Add, Mul };
} // namespace

/// The row operand `operand` as a tensor of the normalised shape.
static Value getNormalizedShapeValue(OpBuilder &b, Location loc,
                                     const fuse::RowOperand &operand) {
  Value value = materializeAt(b, operand.value);
  if (operand.leadingUnitDims == 0)
    return value;
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (int64_t d = 0; d <= operand.leadingUnitDims; ++d)
    first.push_back(d);
  groups.push_back(first);
  for (int64_t d = operand.leadingUnitDims + 1; d < rank; ++d)
    groups.push_back({d});
  return tensor::CollapseShapeOp::create(b, loc, value, groups);
}

/// `lhs <kind> rhs` elementwise, for two tensors of the normalised shape.
static Value createElementwise(OpBuilder &b, Location loc, BinaryKind kind,
                               Value lhs, Value rhs) {
  auto type = cast<RankedTensorType>(lhs.getType());
  Value init = createEmptyLike(b, loc, lhs, type.getElementType());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{lhs, rhs}, ValueRange{init},
      ArrayRef<AffineMap>{id, id, id}, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result =
            kind == BinaryKind::Add
                ? arith::AddFOp::create(nested, nestedLoc, args[0], args[1])
                      .getResult()
                : arith::MulFOp::create(nested, nestedLoc, args[0], args[1])
                      .getResult();
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Common preconditions.
//===----------------------------------------------------------------------===//

/// The single user of the op's output result, when the op is on tensors,
/// its output has exactly that one use, and its output is not quantised.
static Operation *getSoleOutputConsumer(NormOpInterface op) {
  if (!op.hasPureTensorSemantics() || op.hasQuantizedOutput())
    return nullptr;
  Value output = op->getResult(0);
  if (!output.hasOneUse())
    return nullptr;
  return *output.getUsers().begin();
}

//===----------------------------------------------------------------------===//
// Residual add.
//===----------------------------------------------------------------------===//

namespace {
/// `norm(a + b)` -> `norm ins(a) residual(b)`; other users of `a + b` read
/// the op's residual sum (a `residual_out` destination is added). The sum
/// is computed in the compute type and rounded to the input type, which for
/// f16/bf16 inputs is what an add in the input type does.
struct FuseResidualAdd : public OpInterfaceRewritePattern<NormOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    if (op.getResidual())
      return rewriter.notifyMatchFailure(op, "already has a residual");
    Value sum = op.getInput();
    std::optional<fuse::ResidualSum> add = fuse::matchResidualSum(sum);
    if (!add)
      return rewriter.notifyMatchFailure(
          op, "input is not an elementwise add of two tensors of its type");

    SmallVector<OpOperand *> otherUses;
    for (OpOperand &use : sum.getUses())
      if (use.getOwner() != op.getOperation())
        otherUses.push_back(&use);
    SmallVector<Operation *> users = getUsersOfOtherResults(op, Value());
    for (OpOperand *use : otherUses)
      users.push_back(use->getOwner());

    NormOperands oldOperands = NormOperands::get(op);
    NormOperands o = oldOperands;
    o.input = add->input;
    o.residual = add->residual;
    SmallVector<Value> operands = o.getInputs();
    llvm::append_range(operands, o.getInits());
    // At the op, or, when a user of the sum comes first, right after the add.
    Operation *insertionPoint = findInsertionPoint(
        {op, sum.getDefiningOp()->getNextNode()}, operands, users);
    if (!insertionPoint)
      return rewriter.notifyMatchFailure(
          op, "no point dominates the sum's users and follows the operands");

    rewriter.setInsertionPoint(insertionPoint);
    if (!otherUses.empty())
      o.residualOutput = createEmptyLike(rewriter, op->getLoc(), o.input,
                                         op.getInputType().getElementType());
    materializeAt(rewriter, o);
    NormOpInterface fused = buildNormOp(rewriter, op, o);
    Value newSum = NormResults::get(fused, o).residualSum;
    for (OpOperand *use : otherUses)
      rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(newSum); });
    replaceNormOp(rewriter, op, oldOperands, fused, o);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Scale and shift.
//===----------------------------------------------------------------------===//

namespace {
/// `norm(x) * w` -> gamma, `layer_norm(x) + w` -> beta, for a weight `w`
/// broadcast along the rows; composed with a gamma or beta already there.
struct FuseAffineConsumer : public OpInterfaceRewritePattern<NormOpInterface> {
  FuseAffineConsumer(MLIRContext *context, BinaryKind kind)
      : OpInterfaceRewritePattern(context), kind(kind) {}

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    Operation *consumer = getSoleOutputConsumer(op);
    if (!consumer)
      return rewriter.notifyMatchFailure(
          op, "output is not used once (on tensors, not quantised)");
    int64_t axis = op.getNormalizedAxis();
    Value y = op->getResult(0);
    std::optional<fuse::RowOperand> weight = fuse::matchAffineConsumer(
        consumer, y, axis, /*isAdd=*/kind == BinaryKind::Add);
    if (!weight)
      return rewriter.notifyMatchFailure(
          op, "not the output times (plus) a weight broadcast along the rows");
    Type elementType = getElementTypeOrSelf(y);
    if (kind == BinaryKind::Add && !op.isLayerNorm())
      return rewriter.notifyMatchFailure(op, "rms_norm has no shift");
    for (Value affine : {op.getGamma(), op.getBeta()})
      if (affine && getElementTypeOrSelf(affine) != elementType)
        return rewriter.notifyMatchFailure(
            op, "existing gamma/beta has another element type");

    NormOperands oldOperands = NormOperands::get(op);
    NormOperands o = oldOperands;
    SmallVector<Value> operands = o.getInputs();
    llvm::append_range(operands, o.getInits());
    operands.push_back(weight->value);
    SmallVector<Operation *> users = getUsersOfOtherResults(op, y);
    llvm::append_range(users, consumer->getResult(0).getUsers());
    if (!findInsertionPoint({op}, operands, users))
      return rewriter.notifyMatchFailure(op, "the weight is not available at "
                                             "the norm op");

    rewriter.setInsertionPoint(op);
    Location loc = consumer->getLoc();
    Value w = getNormalizedShapeValue(rewriter, loc, *weight);
    if (kind == BinaryKind::Mul) {
      // (y * g + b) * w = y * (g * w) + (b * w).
      o.gamma = o.gamma ? createElementwise(rewriter, loc, BinaryKind::Mul,
                                            o.gamma, w)
                        : w;
      if (o.beta)
        o.beta = createElementwise(rewriter, loc, BinaryKind::Mul, o.beta, w);
    } else {
      o.beta =
          o.beta ? createElementwise(rewriter, loc, BinaryKind::Add, o.beta, w)
                 : w;
    }
    NormOpInterface fused = buildNormOp(rewriter, op, o);
    replaceNormOpAndConsumer(rewriter, op, oldOperands, consumer, fused, o);
    return success();
  }

private:
  BinaryKind kind;
};
} // namespace

//===----------------------------------------------------------------------===//
// Output cast.
//===----------------------------------------------------------------------===//

namespace {
/// `truncf(norm(x))` -> a norm op with the narrower output type. Only from
/// an output in the compute type, so that the fused op, which rounds once
/// from the compute type, gives exactly the original's result.
struct FuseOutputCast : public OpInterfaceRewritePattern<NormOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    Operation *consumer = getSoleOutputConsumer(op);
    if (!consumer)
      return rewriter.notifyMatchFailure(
          op, "output is not used once (on tensors, not quantised)");
    Value y = op->getResult(0);
    FloatType target = fuse::matchOutputCast(consumer, y);
    if (!target)
      return rewriter.notifyMatchFailure(op, "not a rounding float narrowing");
    Type computeType =
        getComputeElementType(op.getInputType().getElementType());
    if (getElementTypeOrSelf(y) != computeType)
      return rewriter.notifyMatchFailure(
          op, "output is not in the compute type (it would round twice)");
    if (target.getWidth() < 16)
      return rewriter.notifyMatchFailure(
          op, "narrower than 16 bits: not a plain output type");

    NormOperands oldOperands = NormOperands::get(op);
    NormOperands o = oldOperands;
    rewriter.setInsertionPoint(op);
    o.output = createEmptyLike(rewriter, op->getLoc(), o.output, target);
    NormOpInterface fused = buildNormOp(rewriter, op, o);
    replaceNormOpAndConsumer(rewriter, op, oldOperands, consumer, fused, o);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Quantisation.
//===----------------------------------------------------------------------===//

namespace {
/// A `linalg.generic` quantising the output per tensor -> a quantised
/// output with that scale. The division must happen in the compute type;
/// the output may be extended to it first (the fused op then divides the
/// unrounded value: within one quantisation step of the original).
struct FuseQuantization : public OpInterfaceRewritePattern<NormOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    Operation *consumer = getSoleOutputConsumer(op);
    if (!consumer)
      return rewriter.notifyMatchFailure(
          op, "output is not used once (on tensors, not quantised)");
    if (consumer->getNumResults() != 1)
      return rewriter.notifyMatchFailure(op, "not a consumer with one result");
    Type quantizedType = getElementTypeOrSelf(consumer->getResult(0));
    if (!isQuantizedElementType(quantizedType))
      return rewriter.notifyMatchFailure(op, "not an i8 / f8E4M3FN result");
    Value y = op->getResult(0);
    Type computeType =
        getComputeElementType(op.getInputType().getElementType());
    std::optional<fuse::Quantization> match =
        fuse::matchQuantization(consumer, y, computeType);
    if (!match)
      return rewriter.notifyMatchFailure(
          op, "not a per-tensor quantisation of the output in the compute "
              "type");
    NormOperands oldOperands = NormOperands::get(op);
    NormOperands o = oldOperands;
    SmallVector<Value> operands = o.getInputs();
    llvm::append_range(operands, o.getInits());
    operands.push_back(match->scale);
    SmallVector<Operation *> users = getUsersOfOtherResults(op, y);
    llvm::append_range(users, consumer->getResult(0).getUsers());
    if (!findInsertionPoint({op}, operands, users))
      return rewriter.notifyMatchFailure(op, "the scale is not available at "
                                             "the norm op");

    rewriter.setInsertionPoint(op);
    Location loc = consumer->getLoc();
    if (match->scaleIsTensor) {
      int64_t scaleRank =
          cast<RankedTensorType>(match->scale.getType()).getRank();
      Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
      SmallVector<Value> indices(scaleRank, zero);
      o.outScale =
          tensor::ExtractOp::create(rewriter, loc, match->scale, indices);
    } else {
      o.outScale = materializeAt(rewriter, match->scale);
    }
    o.output = createEmptyLike(rewriter, loc, o.output, quantizedType);
    NormOpInterface fused = buildNormOp(rewriter, op, o);
    replaceNormOpAndConsumer(rewriter, op, oldOperands, consumer, fused, o);
    return success();
  }
};
} // namespace

namespace {
/// A per-token dynamic quantisation of the output (an abs-max reduction of
/// each row, its scale, the quantisation by it) -> a quantised output with
/// a scales destination; the scale tensor's users get the op's scales.
/// Per group, the same on the output viewed as `[rows, N/G, G]`
/// (`fuse::matchGroupView`): its rows are the groups -> `group_size(G)`,
/// and the quantised view's users read the op's output through the same
/// view. Nothing is rounded differently: the output is f32, the compute
/// type, and the amax, the scale and the quotient are the same f32
/// operations.
struct FuseDynamicQuantization
    : public OpInterfaceRewritePattern<NormOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.hasQuantizedOutput())
      return rewriter.notifyMatchFailure(op, "not on tensors, or quantised");
    Value y = op->getResult(0);
    int64_t axis = op.getNormalizedAxis();
    // Per group, the output's one user is its view as [rows, N/G, G],
    // whose rows are the groups.
    Operation *groupView = nullptr;
    std::optional<int64_t> groupSize;
    if (y.hasOneUse()) {
      groupView = *y.getUsers().begin();
      groupSize = fuse::matchGroupView(groupView, y, axis);
      if (!groupSize)
        return rewriter.notifyMatchFailure(op, "output used once, and not "
                                               "viewed as groups");
    }
    Value viewed = groupSize ? groupView->getResult(0) : y;
    int64_t viewAxis = groupSize ? axis + 1 : axis;
    // Its users: the quantisation, and the amax (or the |y| feeding it).
    SmallVector<Operation *> users(viewed.getUsers());
    if (users.size() != 2 || users[0] == users[1])
      return rewriter.notifyMatchFailure(op, "output not used twice");
    Type computeType =
        getComputeElementType(op.getInputType().getElementType());
    Operation *consumer = nullptr;
    std::optional<fuse::DynamicQuantization> match;
    for (Operation *user : users) {
      if (user->getNumResults() != 1 ||
          !isQuantizedElementType(getElementTypeOrSelf(user->getResult(0))))
        continue;
      match =
          fuse::matchDynamicQuantization(user, viewed, computeType, viewAxis);
      if (match) {
        consumer = user;
        break;
      }
    }
    if (!match)
      return rewriter.notifyMatchFailure(
          op, "not a per-token dynamic quantisation of the output");
    // The amax chain (|y|, amax, the scale's steps) feeds the scale alone,
    // so that it dies with the fusion.
    Value scale = match->scale;
    Operation *chain = users[0] == consumer ? users[1] : users[0];
    for (int length = 0; chain->getNumResults() == 1 &&
                         chain->getResult(0) != scale && length < 8;
         ++length) {
      Value result = chain->getResult(0);
      if (!result.hasOneUse())
        break;
      chain = *result.getUsers().begin();
    }
    if (chain->getNumResults() != 1 || chain->getResult(0) != scale)
      return rewriter.notifyMatchFailure(
          op, "the amax or a step of the scale has other users");

    NormOperands oldOperands = NormOperands::get(op);
    NormOperands o = oldOperands;
    SmallVector<Value> operands = o.getInputs();
    llvm::append_range(operands, o.getInits());
    if (match->bound)
      operands.push_back(match->bound);
    SmallVector<Operation *> laterUsers = getUsersOfOtherResults(op, y);
    llvm::append_range(laterUsers, consumer->getResult(0).getUsers());
    llvm::append_range(laterUsers, scale.getUsers());
    llvm::erase(laterUsers, consumer);
    if (!findInsertionPoint({op}, operands, laterUsers))
      return rewriter.notifyMatchFailure(op, "the bound is not available at "
                                             "the norm op");

    rewriter.setInsertionPoint(op);
    Location loc = consumer->getLoc();
    Type quantizedType = getElementTypeOrSelf(consumer->getResult(0));
    if (match->bound)
      o.scaleUb = match->bound;
    else if (match->constantBound)
      o.scaleUb = arith::ConstantOp::create(
          rewriter, loc, rewriter.getF32FloatAttr(*match->constantBound));
    o.output = createEmptyLike(rewriter, loc, o.output, quantizedType);
    // Scales [rows..., N/G] per group, [rows...] per token.
    SmallVector<OpFoldResult> scaleSizes =
        tensor::getMixedSizes(rewriter, loc, op.getInput());
    if (groupSize) {
      OpFoldResult rowSize = scaleSizes[axis];
      if (auto size = getConstantIntValue(rowSize)) {
        scaleSizes[axis] = rewriter.getIndexAttr(*size / *groupSize);
      } else {
        Value divisor =
            arith::ConstantIndexOp::create(rewriter, loc, *groupSize);
        scaleSizes[axis] =
            arith::DivUIOp::create(rewriter, loc, cast<Value>(rowSize), divisor)
                .getResult();
      }
    }
    scaleSizes.resize(viewAxis);
    o.scales = tensor::EmptyOp::create(rewriter, loc, scaleSizes,
                                       rewriter.getF32Type());
    NormOpInterface fused = buildNormOp(rewriter, op, o);
    if (match->floor != 0.0)
      fused->setAttr("min_scale", rewriter.getF64FloatAttr(match->floor));
    if (groupSize)
      fused->setAttr("group_size", rewriter.getI64IntegerAttr(*groupSize));

    // The scale tensor's users read the op's scales (with the kept unit
    // dims back, if the scale had them).
    Value scales = NormResults::get(fused, o).scales;
    auto scaleType = cast<RankedTensorType>(scale.getType());
    rewriter.setInsertionPointAfter(fused);
    if (scaleType.getRank() != viewAxis) {
      SmallVector<ReassociationIndices> reassociation;
      for (int64_t d = 0; d < viewAxis; ++d)
        reassociation.push_back({d});
      if (viewAxis == 0)
        reassociation.clear();
      else
        for (int64_t d = viewAxis; d < scaleType.getRank(); ++d)
          reassociation.back().push_back(d);
      scales = tensor::ExpandShapeOp::create(rewriter, loc, scaleType, scales,
                                             reassociation);
    }
    rewriter.replaceAllUsesWith(scale, scales);
    eraseDeadDefinitions(rewriter, {scale});
    // Per group, the quantisation's users read the op's output as groups.
    Value output;
    if (groupSize) {
      auto view = cast<tensor::ExpandShapeOp>(groupView);
      output = tensor::ExpandShapeOp::create(
          rewriter, loc, consumer->getResult(0).getType(), fused->getResult(0),
          view.getReassociationIndices());
    }
    replaceNormOpAndConsumer(rewriter, op, oldOperands, consumer, fused, o,
                             output, groupView);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Separately computed statistics.
//===----------------------------------------------------------------------===//

namespace {
/// A value computing the mean or rstd of the op's (summed) input, in
/// another chain of ops -> the op's mean / rstd result.
struct FuseStatistics : public OpInterfaceRewritePattern<NormOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    std::optional<StatisticMatch> match = findSeparateStatistic(op);
    if (!match)
      return rewriter.notifyMatchFailure(op, "no separate mean or rstd");

    NormOperands oldOperands = NormOperands::get(op);
    NormOperands o = oldOperands;
    SmallVector<Value> operands = o.getInputs();
    llvm::append_range(operands, o.getInits());
    SmallVector<Operation *> users = getUsersOfOtherResults(op, Value());
    llvm::append_range(users, match->value.getUsers());
    // At the op; or, for a chain computed before it that does not depend
    // on it, right after the chain.
    SmallVector<Operation *> candidates = {op};
    Operation *def = match->value.getDefiningOp();
    if (def && def->getBlock() == op->getBlock() && def->isBeforeInBlock(op))
      candidates.push_back(def->getNextNode());
    Operation *insertionPoint = findInsertionPoint(candidates, operands, users);
    if (!insertionPoint)
      return rewriter.notifyMatchFailure(
          op, "no point dominates the statistic's users");

    rewriter.setInsertionPoint(insertionPoint);
    Location loc = op->getLoc();
    // Row-shaped, sized from the input (the statistic may come later).
    SmallVector<OpFoldResult> rowSizes =
        tensor::getMixedSizes(rewriter, loc, o.input);
    rowSizes.resize(op.getNormalizedAxis());
    Value init = tensor::EmptyOp::create(rewriter, loc, rowSizes,
                                         getElementTypeOrSelf(match->value));
    if (match->kind == StatisticKind::Mean)
      o.mean = init;
    else
      o.rstd = init;
    materializeAt(rewriter, o);
    NormOpInterface fused = buildNormOp(rewriter, op, o);
    NormResults results = NormResults::get(fused, o);
    rewriter.replaceAllUsesWith(match->value, match->kind == StatisticKind::Mean
                                                  ? results.mean
                                                  : results.rstd);
    replaceNormOp(rewriter, op, oldOperands, fused, o);
    eraseDeadDefinitions(rewriter, match->value);
    return success();
  }
};

/// Whether the forward op `forward` computes the statistics that the
/// gradient op `grad` recomputes: the same kind of norm, over the same
/// dims, with the same epsilon, of the same tensor (`grad`'s input is the
/// forward op's input without a residual, or its residual sum result).
static bool computesStatisticsOf(NormOpInterface forward,
                                 NormGradOpInterface grad) {
  if (!forward.hasPureTensorSemantics() ||
      forward.isLayerNorm() != grad.isLayerNorm() ||
      forward.getNormalizedAxis() != grad.getNormalizedAxis())
    return false;
  std::optional<APFloat> a = forward.getEpsilon(), b = grad.getEpsilon();
  if (a && b ? !a->bitwiseIsEqual(*b)
             : (a || b || forward.getEpsValue() != grad.getEpsValue()))
    return false;
  Value x = grad.getInput();
  if (!forward.getResidual())
    return forward.getInput() == x;
  if (!forward.getResidualOutput())
    return false;
  NormResults results = NormResults::get(forward, NormOperands::get(forward));
  return results.residualSum == x;
}

/// A gradient op recomputing the statistics of a forward op's input: a
/// training graph with both halves in one module. The forward op gains
/// mean / rstd destinations in the compute type (where it lacks them) and
/// the gradient op reads them, as torch's saved tensors, instead of sweeping
/// over x again. The numbers are those of the forward op's statistics, which
/// the recomputation would have computed alike.
struct ShareForwardStatistics
    : public OpInterfaceRewritePattern<NormGradOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormGradOpInterface grad,
                                PatternRewriter &rewriter) const override {
    if (!grad.hasPureTensorSemantics() || !grad.recomputesStatistics())
      return rewriter.notifyMatchFailure(grad, "statistics are operands");
    Value x = grad.getInput();
    SmallVector<NormOpInterface> candidates;
    for (Operation *user : x.getUsers())
      if (auto forward = dyn_cast<NormOpInterface>(user))
        candidates.push_back(forward);
    if (auto forward = x.getDefiningOp<NormOpInterface>())
      candidates.push_back(forward);
    DominanceInfo dominance;
    Type computeType =
        getComputeElementType(grad.getInputType().getElementType());
    NormOpInterface forward;
    for (NormOpInterface candidate : candidates) {
      if (!computesStatisticsOf(candidate, grad) ||
          !dominance.properlyDominates(candidate.getOperation(), grad))
        continue;
      // Saved statistics narrower than the compute type would change dx.
      bool exact = llvm::all_of(
          ValueRange{candidate.getMean(), candidate.getRstd()}, [&](Value v) {
            return !v || getElementTypeOrSelf(v) == computeType;
          });
      if (exact) {
        forward = candidate;
        break;
      }
    }
    if (!forward)
      return rewriter.notifyMatchFailure(
          grad, "no forward op computes the same statistics before it");

    NormOperands oldOperands = NormOperands::get(forward);
    NormOperands o = oldOperands;
    if (!o.rstd || (forward.isLayerNorm() && !o.mean)) {
      rewriter.setInsertionPoint(forward);
      Location loc = forward->getLoc();
      SmallVector<OpFoldResult> rowSizes =
          tensor::getMixedSizes(rewriter, loc, o.input);
      rowSizes.resize(forward.getNormalizedAxis());
      auto empty = [&] {
        return tensor::EmptyOp::create(rewriter, loc, rowSizes, computeType)
            .getResult();
      };
      if (forward.isLayerNorm() && !o.mean)
        o.mean = empty();
      if (!o.rstd)
        o.rstd = empty();
      NormOpInterface rebuilt = buildNormOp(rewriter, forward, o);
      replaceNormOp(rewriter, forward, oldOperands, rebuilt, o);
      forward = rebuilt;
    }
    NormResults saved = NormResults::get(forward, o);

    rewriter.setInsertionPoint(grad);
    SmallVector<Type> resultTypes(grad->getResultTypes());
    auto axis = grad->getAttrOfType<IntegerAttr>("axis");
    Operation *shared;
    if (grad.isLayerNorm())
      shared = LayerNormGradOp::create(
          rewriter, grad->getLoc(), resultTypes, x, grad.getOutputGrad(),
          grad.getGamma(), saved.mean, saved.rstd, grad.getResidualGrad(),
          Value(), grad.getInputGradInit(), grad.getGammaGradInit(),
          grad.getBetaGradInit(), axis, FloatAttr());
    else
      shared = RMSNormGradOp::create(
          rewriter, grad->getLoc(), resultTypes, x, grad.getOutputGrad(),
          grad.getGamma(), saved.rstd, grad.getResidualGrad(), Value(),
          grad.getInputGradInit(), grad.getGammaGradInit(), axis, FloatAttr());
    shared->setDiscardableAttrs(grad->getDiscardableAttrDictionary());
    rewriter.replaceOp(grad, shared->getResults());
    return success();
  }
};

/// The destinations of a gradient op, by role; the op's other operands.
struct GradOperands {
  Value input, outputGrad, gamma, mean, rstd, residualGrad, epsValue;
  Value dx, dgamma, dbeta;

  static GradOperands get(NormGradOpInterface op) {
    return {op.getInput(),       op.getOutputGrad(),    op.getGamma(),
            op.getMean(),        op.getRstd(),          op.getResidualGrad(),
            op.getEpsValue(),    op.getInputGradInit(), op.getGammaGradInit(),
            op.getBetaGradInit()};
  }
};

/// Builds a gradient op of the kind, axis and epsilon of `prototype` from
/// `o`; its results are those of `o`'s destinations, in order.
static Operation *buildGradOp(OpBuilder &b, NormGradOpInterface prototype,
                              const GradOperands &o) {
  SmallVector<Type> resultTypes;
  for (Value init : {o.dx, o.dgamma, o.dbeta})
    if (init)
      resultTypes.push_back(init.getType());
  auto axis = prototype->getAttrOfType<IntegerAttr>("axis");
  auto epsilon = prototype->getAttrOfType<FloatAttr>("epsilon");
  Location loc = prototype->getLoc();
  if (prototype.isLayerNorm())
    return LayerNormGradOp::create(
        b, loc, resultTypes, o.input, o.outputGrad, o.gamma, o.mean, o.rstd,
        o.residualGrad, o.epsValue, o.dx, o.dgamma, o.dbeta, axis, epsilon);
  return RMSNormGradOp::create(b, loc, resultTypes, o.input, o.outputGrad,
                               o.gamma, o.rstd, o.residualGrad, o.epsValue,
                               o.dx, o.dgamma, axis, epsilon);
}

/// The result of `op` (built from `o`) for the destination `init`.
static Value getGradResult(Operation *op, const GradOperands &o, Value init) {
  unsigned index = 0;
  for (Value v : {o.dx, o.dgamma, o.dbeta}) {
    if (!v)
      continue;
    if (v == init)
      return op->getResult(index);
    ++index;
  }
  return Value();
}

/// Two gradient ops of one norm (the same x, dy, statistics, epsilon and
/// axis), each computing some of dx, dgamma and dbeta (as the capture makes
/// them, one root at a time) -> one op computing all of them, which reads
/// x and dy once. gamma only enters dx: the merged op takes the gamma of
/// the op that computes dx.
struct MergeGradients : public OpInterfaceRewritePattern<NormGradOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  /// Whether `a` and `b` hold the same value: one SSA value (or both
  /// absent), or the same result of two identical side-effect-free ops on
  /// the same operands (each capture reshapes the saved statistics itself).
  static bool isSameValue(Value a, Value b) {
    if (a == b)
      return true;
    auto ra = dyn_cast_or_null<OpResult>(a);
    auto rb = dyn_cast_or_null<OpResult>(b);
    return ra && rb && ra.getResultNumber() == rb.getResultNumber() &&
           isPure(ra.getOwner()) &&
           OperationEquivalence::isEquivalentTo(
               ra.getOwner(), rb.getOwner(),
               OperationEquivalence::Flags::IgnoreLocations);
  }

  static bool sameNorm(NormGradOpInterface a, NormGradOpInterface b) {
    GradOperands x = GradOperands::get(a), y = GradOperands::get(b);
    std::optional<APFloat> ea = a.getEpsilon(), eb = b.getEpsilon();
    bool sameEps = ea && eb ? ea->bitwiseIsEqual(*eb) : (!ea && !eb);
    // An RMSNorm's dgamma alone, sum(dy x rstd), is the same value with x
    // and dy exchanged (the capture may read them either way).
    auto symmetric = [](NormGradOpInterface op) {
      return !op.isLayerNorm() && !op.getInputGradInit();
    };
    bool sameTensors = (x.input == y.input && x.outputGrad == y.outputGrad) ||
                       ((symmetric(a) || symmetric(b)) &&
                        x.input == y.outputGrad && x.outputGrad == y.input);
    return a->getName() == b->getName() && sameTensors &&
           isSameValue(x.mean, y.mean) && isSameValue(x.rstd, y.rstd) &&
           x.epsValue == y.epsValue && sameEps &&
           a.getNormalizedAxis() == b.getNormalizedAxis() && !(x.dx && y.dx) &&
           !(x.dgamma && y.dgamma) && !(x.dbeta && y.dbeta);
  }

  LogicalResult matchAndRewrite(NormGradOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    NormGradOpInterface other;
    SmallVector<Operation *> candidates(op.getInput().getUsers());
    llvm::append_range(candidates, op.getOutputGrad().getUsers());
    for (Operation *user : candidates) {
      auto candidate = dyn_cast<NormGradOpInterface>(user);
      if (candidate && candidate != op &&
          candidate->getBlock() == op->getBlock() && sameNorm(op, candidate)) {
        other = candidate;
        break;
      }
    }
    if (!other)
      return rewriter.notifyMatchFailure(op, "no other gradient of this norm");
    NormGradOpInterface first = op, second = other;
    if (second->isBeforeInBlock(first))
      std::swap(first, second);
    GradOperands a = GradOperands::get(first), b = GradOperands::get(second);
    // x and dy as the op computing dx reads them.
    GradOperands merged = b.dx ? b : a;
    merged.dx = a.dx ? a.dx : b.dx;
    merged.dgamma = a.dgamma ? a.dgamma : b.dgamma;
    merged.dbeta = a.dbeta ? a.dbeta : b.dbeta;
    merged.residualGrad = a.dx ? a.residualGrad : b.residualGrad;
    merged.gamma = a.dx ? a.gamma : (b.dx ? b.gamma : a.gamma);

    SmallVector<Value> operands;
    for (Value v : {merged.input, merged.outputGrad, merged.gamma, merged.mean,
                    merged.rstd, merged.residualGrad, merged.epsValue,
                    merged.dx, merged.dgamma, merged.dbeta})
      if (v)
        operands.push_back(v);
    SmallVector<Operation *> users = getUsersOfOtherResults(first, Value());
    llvm::append_range(users, getUsersOfOtherResults(second, Value()));
    Operation *insertionPoint =
        findInsertionPoint({first, second}, operands, users);
    if (!insertionPoint)
      return rewriter.notifyMatchFailure(op, "no point dominates every use");
    rewriter.setInsertionPoint(insertionPoint);
    for (Value *v :
         {&merged.input, &merged.outputGrad, &merged.gamma, &merged.mean,
          &merged.rstd, &merged.residualGrad, &merged.epsValue, &merged.dx,
          &merged.dgamma, &merged.dbeta})
      *v = materializeAt(rewriter, *v);

    Operation *fused = buildGradOp(rewriter, first, merged);
    for (NormGradOpInterface old : {first, second}) {
      GradOperands o = GradOperands::get(old);
      unsigned index = 0;
      for (auto [init, mergedInit] : {std::make_pair(o.dx, merged.dx),
                                      std::make_pair(o.dgamma, merged.dgamma),
                                      std::make_pair(o.dbeta, merged.dbeta)}) {
        if (!init)
          continue;
        rewriter.replaceAllUsesWith(old->getResult(index++),
                                    getGradResult(fused, merged, mergedInit));
      }
    }
    rewriter.eraseOp(second);
    rewriter.eraseOp(first);
    return success();
  }
};

/// A sum over the rows of a LayerNorm gradient op's dy, in a linalg op of
/// its own (torch's `grad_out.sum(dims)`) -> the op's dbeta. The sum is
/// proven in the capture's expression view, in the space of dy (the linalg
/// op's loops): a sum of dy over exactly the op's row dims, in f32 or wider.
struct FuseBetaGradient
    : public OpInterfaceRewritePattern<NormGradOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  /// Whether `result` (of a linalg op, or TOSA sums; getColumnSumView) is
  /// the sum of `dy` over its leading `axis` dims.
  static bool isColumnSum(Value result, Value dy, int64_t axis) {
    FailureOr<capture::ColumnSumView> view = capture::getColumnSumView(result);
    if (failed(view) || view->rows != axis ||
        ArrayRef<int64_t>(view->space) !=
            cast<RankedTensorType>(dy.getType()).getShape())
      return false;
    capture::ExprContext context(view->space);
    capture::ExprTranslator translator(context);
    capture::Expr *e = translator.translate(result, view->readMap);
    while (e && e->is(capture::ExprKind::Trunc))
      e = e->getOperand();
    if (!e || !e->is(capture::ExprKind::Reduce) ||
        e->getReducedDims() != (uint64_t(1) << axis) - 1 ||
        !isa<Float32Type, Float64Type>(e->getType()))
      return false;
    capture::Expr *summand = e->getOperand();
    while (summand->is(capture::ExprKind::Ext))
      summand = summand->getOperand();
    return summand->is(capture::ExprKind::Load) && summand->getValue() == dy &&
           summand->getMap().isIdentity();
  }

  LogicalResult matchAndRewrite(NormGradOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || !op.isLayerNorm() ||
        op.getBetaGradInit())
      return rewriter.notifyMatchFailure(op, "not a LayerNorm gradient "
                                             "without dbeta, on tensors");
    int64_t axis = op.getNormalizedAxis();
    Value dy = op.getOutputGrad();
    // The candidates: results of dy's users, and in TOSA the reshape that
    // ends a chain of reduce_sums over dy.
    SmallVector<Value> candidates;
    for (Operation *user : dy.getUsers()) {
      llvm::append_range(candidates, user->getResults());
      Operation *chain = user;
      while (isa<tosa::ReduceSumOp>(chain) && chain->hasOneUse()) {
        chain = *chain->getUsers().begin();
        if (isa<tosa::ReshapeOp>(chain))
          candidates.push_back(chain->getResult(0));
      }
    }
    Value sum;
    for (Value candidate : candidates)
      if (isColumnSum(candidate, dy, axis)) {
        sum = candidate;
        break;
      }
    if (!sum)
      return rewriter.notifyMatchFailure(op, "no column sum of dy");
    GradOperands o = GradOperands::get(op);
    SmallVector<Value> operands;
    for (Value v : {o.input, o.outputGrad, o.gamma, o.mean, o.rstd,
                    o.residualGrad, o.epsValue, o.dx, o.dgamma})
      if (v)
        operands.push_back(v);
    SmallVector<Operation *> users = getUsersOfOtherResults(op, Value());
    llvm::append_range(users, sum.getUsers());
    Operation *insertionPoint = findInsertionPoint(
        {op, sum.getDefiningOp()->getNextNode()}, operands, users);
    if (!insertionPoint)
      return rewriter.notifyMatchFailure(op, "no point dominates every use");
    rewriter.setInsertionPoint(insertionPoint);
    GradOperands fused = o;
    for (Value *v : {&fused.input, &fused.outputGrad, &fused.gamma, &fused.mean,
                     &fused.rstd, &fused.residualGrad, &fused.epsValue,
                     &fused.dx, &fused.dgamma})
      *v = materializeAt(rewriter, *v);
    fused.dbeta =
        createEmptyLike(rewriter, op->getLoc(), sum, getElementTypeOrSelf(sum));
    Operation *newOp = buildGradOp(rewriter, op, fused);
    unsigned index = 0;
    for (auto [init, newInit] : {std::make_pair(o.dx, fused.dx),
                                 std::make_pair(o.dgamma, fused.dgamma)}) {
      if (!init)
        continue;
      rewriter.replaceAllUsesWith(op->getResult(index++),
                                  getGradResult(newOp, fused, newInit));
    }
    rewriter.replaceAllUsesWith(sum, getGradResult(newOp, fused, fused.dbeta));
    rewriter.eraseOp(op);
    eraseDeadDefinitions(rewriter, sum);
    return success();
  }
};

struct NormFusePass : public norm::impl::NormFuseBase<NormFusePass> {
  void runOnOperation() override {
    if (failed(fuseNorms(getOperation())))
      return signalPassFailure();
  }
};
} // namespace

LogicalResult mlir::norm::fuseNorms(Operation *root,
                                    RewriterBase::Listener *listener) {
  SmallVector<Operation *> normOps;
  root->walk([&](Operation *op) {
    if (isa<NormOpInterface, NormGradOpInterface>(op))
      normOps.push_back(op);
  });
  if (normOps.empty())
    return success();
  RewritePatternSet patterns(root->getContext());
  populateNormFusionPatterns(patterns);
  // Only the norm ops (and the fused ops that replace them) are rewritten,
  // without folding: IR the pass does not fuse stays exactly as it was.
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps)
      .enableFolding(false)
      .enableConstantCSE(false)
      .setListener(listener);
  return applyOpPatternsGreedily(normOps, std::move(patterns), config);
}

void mlir::norm::populateNormFusionPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<FuseResidualAdd, FuseOutputCast, FuseQuantization,
               FuseDynamicQuantization, FuseStatistics, ShareForwardStatistics,
               MergeGradients, FuseBetaGradient>(context);
  patterns.add<FuseAffineConsumer>(context, BinaryKind::Mul);
  patterns.add<FuseAffineConsumer>(context, BinaryKind::Add);
}
