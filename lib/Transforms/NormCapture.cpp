//===- NormCapture.cpp - Replace decomposed norms by norm ops -------------===//
//
// The `--norm-capture` pattern: at every op that may end a decomposed norm,
// translate its value into the expression view (CaptureTranslate.cpp), prove
// it is a norm (CaptureMatch.cpp), and replace it by one `norm.layer_norm` or
// `norm.rms_norm`. Only the final value is replaced; the ops it no longer
// needs die, intermediates with other users stay.
//
//===----------------------------------------------------------------------===//

#include "norm/Transforms/Passes.h"

#include "CaptureBuffers.h"
#include "CaptureExpr.h"
#include "CaptureMatch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Rewrite/PatternApplicator.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMCAPTURE
#include "norm/Transforms/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::norm::capture;

namespace {
/// Where a chain may end: a result of an op on tensors, or the init a linalg
/// op on buffers writes.
struct Root {
  Operation *op;
  unsigned index;
  bool onBuffers;

  /// The result, or the buffer written.
  Value getValue() const {
    if (onBuffers)
      return cast<DestinationStyleOpInterface>(op).getDpsInits()[index];
    return op->getResult(index);
  }
};

/// A proven capture at one root, with the translation it rests on.
struct Capture {
  std::unique_ptr<ExprContext> context;
  std::unique_ptr<ExprTranslator> translator;
  NormMatch match;
  /// Set instead of `match` when the root is a norm's input gradient.
  std::optional<GradMatch> grad;
  /// Set when the root's value is an identity copy of this other value.
  Value copyOf;
};
} // namespace

/// The roots `op` offers: its results, if it may compute one on tensors;
/// its init, if it is a parallel linalg op on buffers writing one buffer.
static SmallVector<Root> getCandidateRoots(Operation *op) {
  SmallVector<Root> roots;
  if (isa<NormOpInterface>(op))
    return roots;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      linalgOp && linalgOp.hasPureBufferSemantics() &&
      !linalgOp->getNumResults()) {
    if (linalgOp.getNumDpsInits() == 1 &&
        linalgOp.getNumParallelLoops() == linalgOp.getNumLoops())
      roots.push_back({op, 0, /*onBuffers=*/true});
    return roots;
  }
  if (!isa<linalg::LinalgDialect, tosa::TosaDialect, arith::ArithDialect,
           math::MathDialect, tensor::TensorDialect>(op->getDialect()))
    return roots;
  for (OpResult result : op->getResults())
    if (!result.use_empty())
      roots.push_back({op, result.getResultNumber(), /*onBuffers=*/false});
  return roots;
}

/// Proves that `root`, a sum over the leading dims of x's shape
/// (getColumnSumView: a linalg reduction over its leading loops, or TOSA
/// sums over the leading axes), whose result the root's own space cannot
/// describe, is a norm's dgamma; on success sets `capture` (its
/// translation is over x's shape).
static LogicalResult matchGammaGradientRoot(Root root, Capture &capture) {
  FailureOr<ColumnSumView> view = getColumnSumView(root.getValue());
  if (failed(view))
    return failure();
  auto type = cast<RankedTensorType>(root.getValue().getType());
  auto spaceType = RankedTensorType::get(view->space, type.getElementType());
  capture.context = std::make_unique<ExprContext>(view->space);
  capture.translator = std::make_unique<ExprTranslator>(*capture.context);
  Expr *expr = capture.translator->translate(root.getValue(), view->readMap);
  if (!expr || expr->is(ExprKind::Load))
    return failure();
  StringRef reason;
  FailureOr<GradMatch> grad =
      matchGammaGradient(*capture.translator, expr, spaceType,
                         (uint64_t(1) << view->rows) - 1, reason);
  if (failed(grad))
    return failure();
  capture.grad = *grad;
  return success();
}

/// Translates `root` and proves it is a norm.
static FailureOr<Capture> matchRoot(Root root, StringRef &reason) {
  // Narrower results (f8) would need the op's saturating quantised output,
  // which is not what a plain truncation does.
  Value value = root.getValue();
  auto type = dyn_cast<ShapedType>(value.getType());
  if (!type || !isa<RankedTensorType, MemRefType>(type) ||
      !isa<Float16Type, BFloat16Type, Float32Type, Float64Type>(
          type.getElementType()) ||
      type.getRank() < 1 || type.getRank() > 64) {
    reason = "not an f16, bf16, f32 or f64 tensor or memref of rank 1 to 64";
    return failure();
  }
  Capture capture;
  // A sum over the leading loops of a linalg op, or over the leading axes
  // in TOSA, whose result the root's own space cannot describe: perhaps a
  // norm's dgamma, read in the space of x.
  if (!root.onBuffers && succeeded(matchGammaGradientRoot(root, capture)))
    return capture;
  capture.context = std::make_unique<ExprContext>(type.getShape());
  capture.translator = std::make_unique<ExprTranslator>(*capture.context);
  AffineMap identity =
      AffineMap::getMultiDimIdentityMap(type.getRank(), value.getContext());
  Expr *expr =
      root.onBuffers
          ? capture.translator->translateWrite(root.op, root.index, identity)
          : capture.translator->translate(value, identity);
  if (!expr || expr->is(ExprKind::Load)) {
    reason = "not a computation the capture can read";
    return failure();
  }
  if (capture.translator->isPoisoned()) {
    reason = "buffers whose contents the capture cannot prove";
    return failure();
  }
  FailureOr<NormMatch> match =
      matchNorm(*capture.translator, expr, type, reason);
  if (failed(match)) {
    // Not a norm: perhaps a norm's input gradient (on tensors).
    StringRef gradReason;
    FailureOr<GradMatch> grad =
        root.onBuffers
            ? FailureOr<GradMatch>(failure())
            : matchInputGradient(*capture.translator, expr, type, gradReason);
    if (failed(grad))
      return failure();
    capture.grad = *grad;
    capture.copyOf = capture.translator->getMaterializedValue(expr);
    if (capture.copyOf == value)
      capture.copyOf = Value();
    return capture;
  }
  capture.match = *match;
  if (root.onBuffers) {
    const NormMatch &m = capture.match;
    SmallVector<Value> operands;
    for (Value operand : {m.input, m.residual, m.materializedInput, m.gamma,
                          m.beta, m.epsTensor})
      if (operand)
        operands.push_back(operand);
    if (failed(checkBufferReads(*capture.translator, operands, root.op))) {
      reason = "a buffer the chain reads may be written before the norm";
      return failure();
    }
  }
  // A root that only copies (or reshapes) another value of the same norm: that
  // value is captured instead, and the copy stays as it was.
  capture.copyOf = capture.translator->getMaterializedValue(expr);
  if (capture.copyOf == value)
    capture.copyOf = Value();
  return capture;
}

/// Whether a later op reading `root`'s value ends a larger norm that contains
/// `root`'s op (a norm without gamma whose only user applies gamma): that one
/// is captured (or refused) instead.
static bool isPartOfLargerNorm(Root root) {
  for (Operation *user : root.getValue().getUsers()) {
    if (user == root.op ||
        (root.onBuffers && (user->getBlock() != root.op->getBlock() ||
                            user->isBeforeInBlock(root.op))))
      continue;
    for (Root outerRoot : getCandidateRoots(user)) {
      StringRef reason;
      FailureOr<Capture> outer = matchRoot(outerRoot, reason);
      if (succeeded(outer) && !outer->copyOf &&
          outer->translator->wasVisited(root.op))
        return true;
    }
  }
  return false;
}

/// Whether `value` has a user the capture did not translate (so it must
/// survive the capture); a buffer's deallocation does not count.
static bool hasOtherUsers(Value value, const ExprTranslator &translator) {
  return llvm::any_of(value.getUsers(), [&](Operation *user) {
    return !translator.wasVisited(user) && !isa<memref::DeallocOp>(user);
  });
}

/// `value` with its leading unit dims folded away, down to `rank` dims.
static Value dropLeadingUnitDims(PatternRewriter &rewriter, Location loc,
                                 Value value, int64_t rank) {
  if (!value)
    return value;
  auto type = cast<ShapedType>(value.getType());
  int64_t extra = type.getRank() - rank;
  if (extra == 0)
    return value;
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (int64_t dim = 0; dim <= extra; ++dim)
    first.push_back(dim);
  groups.push_back(first);
  for (int64_t dim = extra + 1; dim < type.getRank(); ++dim)
    groups.push_back({dim});
  if (isa<MemRefType>(type))
    return memref::CollapseShapeOp::create(rewriter, loc, value, groups);
  return tensor::CollapseShapeOp::create(rewriter, loc, value, groups);
}

/// The constant epsilon as an attribute. When it is a value of the type the
/// op computes in, the shortest decimal that rounds to it in that type is
/// used: the same number once the op rounds it, and what the user wrote.
static FloatAttr getEpsilonAttr(Builder &builder, double epsilon,
                                Type computeType) {
  const llvm::fltSemantics &semantics =
      cast<FloatType>(computeType).getFloatSemantics();
  auto rounded = [&](double v) {
    llvm::APFloat f(v);
    bool losesInfo = false;
    f.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
    return f;
  };
  llvm::APFloat exact = rounded(epsilon);
  bool losesInfo = false;
  llvm::APFloat back = exact;
  back.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
               &losesInfo);
  if (back.convertToDouble() != epsilon)
    return builder.getF64FloatAttr(epsilon);
  for (unsigned digits = 1; digits <= 17; ++digits) {
    SmallString<32> text;
    llvm::APFloat(epsilon).toString(text, digits, /*FormatMaxPadding=*/0);
    double candidate;
    if (StringRef(text).getAsDouble(candidate))
      continue;
    if (rounded(candidate).bitwiseIsEqual(exact))
      return builder.getF64FloatAttr(candidate);
  }
  return builder.getF64FloatAttr(epsilon);
}

/// Builds the norm op that replaces `root` (on buffers: that writes its
/// buffer).
static NormOpInterface buildNormOp(PatternRewriter &rewriter, Root root,
                                   Capture &capture) {
  const NormMatch &match = capture.match;
  const ExprTranslator &translator = *capture.translator;
  Operation *rootOp = root.op;
  auto type = cast<ShapedType>(root.getValue().getType());
  int64_t rank = type.getRank();

  SmallVector<Location> locations;
  for (Operation *op : translator.getVisitedOps())
    locations.push_back(op->getLoc());
  Location loc = rewriter.getFusedLoc(locations);
  rewriter.setInsertionPoint(rootOp);

  // A residual add whose sum is needed elsewhere anyway is not refused.
  Value input = match.input;
  Value residual = match.residual;
  if (residual && match.materializedInput &&
      hasOtherUsers(match.materializedInput, translator)) {
    input = match.materializedInput;
    residual = Value();
  }
  Type inputElementType = cast<ShapedType>(input.getType()).getElementType();

  Value epsValue;
  FloatAttr epsAttr;
  if (match.epsilon) {
    epsAttr = getEpsilonAttr(rewriter, *match.epsilon,
                             getComputeElementType(inputElementType));
  } else if (match.epsScalar) {
    epsValue = match.epsScalar;
  } else {
    auto epsType = cast<ShapedType>(match.epsTensor.getType());
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    SmallVector<Value> zeros(epsType.getRank(), zero);
    if (isa<MemRefType>(epsType))
      epsValue = memref::LoadOp::create(rewriter, loc, match.epsTensor, zeros);
    else
      epsValue =
          tensor::ExtractOp::create(rewriter, loc, match.epsTensor, zeros);
  }

  int64_t normalizedRank = rank - match.axis;
  Value gamma = dropLeadingUnitDims(rewriter, loc, match.gamma, normalizedRank);
  Value beta = dropLeadingUnitDims(rewriter, loc, match.beta, normalizedRank);

  // The destination: the root's own, if it is not part of the chain (on
  // buffers, the buffer the root writes).
  Value init;
  TypeRange resultTypes = type;
  if (root.onBuffers) {
    init = root.getValue();
    resultTypes = {};
  } else if (auto dps = dyn_cast<DestinationStyleOpInterface>(rootOp)) {
    Value candidate = dps.getDpsInitOperand(root.index)->get();
    Operation *def = candidate.getDefiningOp();
    if (candidate.getType() == type && (!def || !translator.wasVisited(def)))
      init = candidate;
  }
  if (!init) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0; dim < rank; ++dim) {
      if (type.isDynamicDim(dim))
        sizes.push_back(tensor::getMixedSize(rewriter, loc, input, dim));
      else
        sizes.push_back(rewriter.getIndexAttr(type.getDimSize(dim)));
    }
    init = tensor::EmptyOp::create(rewriter, loc, sizes, type.getElementType());
  }

  IntegerAttr axisAttr;
  if (match.axis + 1 != rank)
    axisAttr = rewriter.getI64IntegerAttr(match.axis);
  if (match.isLayerNorm)
    return LayerNormOp::create(
        rewriter, loc, resultTypes, input, residual, gamma, beta, epsValue,
        /*out_scale=*/Value(), /*scale_ub=*/Value(), init,
        /*residual_output=*/Value(), /*mean=*/Value(), /*rstd=*/Value(),
        /*scales=*/Value(), axisAttr, epsAttr, /*group_size=*/IntegerAttr(),
        /*min_scale=*/FloatAttr());
  return RMSNormOp::create(rewriter, loc, resultTypes, input, residual, gamma,
                           epsValue, /*out_scale=*/Value(),
                           /*scale_ub=*/Value(), init,
                           /*residual_output=*/Value(), /*rstd=*/Value(),
                           /*scales=*/Value(), axisAttr, epsAttr,
                           /*group_size=*/IntegerAttr(),
                           /*min_scale=*/FloatAttr());
}

/// `stat`, a saved row statistic read along the leading `axis` dims of a
/// space of rank `rank` (possibly with unit dims in the normalised
/// positions, as keepdim reductions leave them), shaped like the rows.
static Value collapseToRows(PatternRewriter &rewriter, Location loc, Value stat,
                            int64_t axis) {
  auto type = cast<RankedTensorType>(stat.getType());
  if (type.getRank() == axis)
    return stat;
  if (type.getRank() < axis || axis == 0)
    return Value();
  for (int64_t d = axis; d < type.getRank(); ++d)
    if (type.getDimSize(d) != 1)
      return Value();
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d < axis; ++d)
    groups.push_back({d});
  for (int64_t d = axis; d < type.getRank(); ++d)
    groups.back().push_back(d);
  return tensor::CollapseShapeOp::create(rewriter, loc, stat, groups);
}

/// Builds the gradient op that replaces `root` (on tensors), or null when
/// its operands do not fit the op (shapes, types).
static Operation *buildGradOp(PatternRewriter &rewriter, Root root,
                              Capture &capture) {
  const GradMatch &match = *capture.grad;
  auto type = cast<RankedTensorType>(root.getValue().getType());
  // x's shape: the root's own for dx, the sum's loops for dgamma.
  ArrayRef<int64_t> spaceShape = capture.context->getShape();
  int64_t rank = spaceShape.size();
  auto fits = [&](Value v) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    return t && t.getRank() == rank &&
           succeeded(verifyCompatibleShape(t.getShape(), spaceShape));
  };
  ArrayRef<int64_t> resultShape =
      match.isGammaGrad ? spaceShape.drop_front(match.axis) : spaceShape;
  if (failed(verifyCompatibleShape(type.getShape(), resultShape)))
    return nullptr;
  if (!fits(match.input) || !fits(match.outputGrad) ||
      (match.residualGrad &&
       (!fits(match.residualGrad) ||
        getElementTypeOrSelf(match.residualGrad) != type.getElementType())))
    return nullptr;
  SmallVector<Location> locations;
  for (Operation *op : capture.translator->getVisitedOps())
    locations.push_back(op->getLoc());
  Location loc = rewriter.getFusedLoc(locations);
  rewriter.setInsertionPoint(root.op);
  Value mean = match.mean
                   ? collapseToRows(rewriter, loc, match.mean, match.axis)
                   : Value();
  Value rstd = match.rstd
                   ? collapseToRows(rewriter, loc, match.rstd, match.axis)
                   : Value();
  bool saved = static_cast<bool>(match.rstd);
  if (saved && (!rstd || (match.isLayerNorm && !mean)))
    return nullptr;
  // Recomputed statistics: the epsilon of their root.
  FloatAttr epsAttr;
  if (match.epsilon)
    epsAttr = getEpsilonAttr(
        rewriter, *match.epsilon,
        getComputeElementType(getElementTypeOrSelf(match.input)));
  Value gamma =
      dropLeadingUnitDims(rewriter, loc, match.gamma, rank - match.axis);
  // The destination has the root's type: its static sizes, the dynamic ones
  // read from x.
  int64_t offset = match.isGammaGrad ? match.axis : 0;
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(
        type.isDynamicDim(d)
            ? tensor::getMixedSize(rewriter, loc, match.input, d + offset)
            : rewriter.getIndexAttr(type.getDimSize(d)));
  Value init =
      tensor::EmptyOp::create(rewriter, loc, sizes, type.getElementType());
  Value dxInit = match.isGammaGrad ? Value() : init;
  Value dgammaInit = match.isGammaGrad ? init : Value();
  IntegerAttr axisAttr;
  if (match.axis + 1 != rank)
    axisAttr = rewriter.getI64IntegerAttr(match.axis);
  if (match.isLayerNorm)
    return LayerNormGradOp::create(
        rewriter, loc, TypeRange{init.getType()}, match.input, match.outputGrad,
        gamma, mean, rstd, match.residualGrad, match.epsScalar, dxInit,
        dgammaInit, /*beta_grad_init=*/Value(), axisAttr, epsAttr);
  return RMSNormGradOp::create(rewriter, loc, TypeRange{init.getType()},
                               match.input, match.outputGrad, gamma, rstd,
                               match.residualGrad, match.epsScalar, dxInit,
                               dgammaInit, axisAttr, epsAttr);
}

namespace {
/// Replaces the final value of a decomposed LayerNorm / RMSNorm by a norm op.
struct CaptureNormPattern : public RewritePattern {
  CaptureNormPattern(MLIRContext *context, const NormCaptureOptions &options)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context),
        options(options) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    for (Root root : getCandidateRoots(op)) {
      StringRef reason;
      FailureOr<Capture> capture = matchRoot(root, reason);
      if (failed(capture)) {
        (void)rewriter.notifyMatchFailure(op, reason);
        continue;
      }
      if (capture->copyOf) {
        (void)rewriter.notifyMatchFailure(op, "a copy of a norm's value");
        continue;
      }
      if (isPartOfLargerNorm(root)) {
        (void)rewriter.notifyMatchFailure(op, "part of a larger norm");
        continue;
      }
      if (capture->grad) {
        Operation *gradOp = buildGradOp(rewriter, root, *capture);
        if (!gradOp) {
          (void)rewriter.notifyMatchFailure(
              op, "a gradient whose operands do not fit the gradient op");
          continue;
        }
        if (options.report)
          op->emitRemark(
              llvm::formatv("captured {0} from {1} ops", gradOp->getName(),
                            capture->translator->getVisitedOps().size()));
        rewriter.replaceAllUsesWith(op->getResult(root.index),
                                    gradOp->getResult(0));
        if (op->use_empty())
          rewriter.eraseOp(op);
        return success();
      }
      if (capture->match.narrowStatistic && !options.widenStatistics) {
        emitNarrowRemark(op, capture->match, /*captured=*/false);
        (void)rewriter.notifyMatchFailure(op, "statistics narrower than f32");
        continue;
      }
      NormOpInterface normOp = buildNormOp(rewriter, root, *capture);
      emitReport(op, *capture, normOp);
      if (root.onBuffers) {
        // The root writer goes first, so that the statistics buffers it read
        // can be found dead; it is then no longer part of the chain.
        SmallVector<Operation *> chain;
        for (Operation *visited : capture->translator->getVisitedOps())
          if (visited != op)
            chain.push_back(visited);
        rewriter.eraseOp(op);
        eraseDeadBufferChain(rewriter, chain);
      } else if (op->getNumResults() == 1) {
        rewriter.replaceOp(op, normOp->getResult(0));
      } else {
        rewriter.replaceAllUsesWith(op->getResult(root.index),
                                    normOp->getResult(0));
      }
      return success();
    }
    return failure();
  }

private:
  /// The remark for a chain whose statistics are narrower than f32: left
  /// alone, or (`captured`) widened by the capture. Emitted whether or not
  /// `report` is set (it is about the program's numbers), and to the remark
  /// engine.
  static void emitNarrowRemark(Operation *rootOp, const NormMatch &match,
                               bool captured) {
    std::string type;
    llvm::raw_string_ostream(type) << match.narrowType;
    Operation *narrowOp = match.narrowStatistic;
    std::string what =
        narrowOp ? llvm::formatv("'{0}'", narrowOp->getName()).str() : "an op";
    StringRef kind = match.isLayerNorm ? "a LayerNorm" : "an RMSNorm";
    std::string text =
        captured
            ? llvm::formatv("captured {0} whose statistics are computed in "
                            "{1} ({2}), widening them to f32: a deliberate "
                            "numerical change (widen-statistics)",
                            kind, type, what)
                  .str()
            : llvm::formatv("left {0} alone: its statistics are computed in "
                            "{1} ({2}), narrower than the f32 the norm op "
                            "computes them in; "
                            "--norm-capture=widen-statistics=true would "
                            "capture it, widening them",
                            kind, type, what)
                  .str();
    StringRef function;
    if (auto func = rootOp->getParentOfType<FunctionOpInterface>())
      function = func.getName();
    auto opts = remark::RemarkOpts::name("NormCapture")
                    .category("norm-capture")
                    .function(function);
    if (captured)
      remark::passed(rootOp->getLoc(), opts) << StringRef(text);
    else
      remark::missed(rootOp->getLoc(), opts) << StringRef(text);
    InFlightDiagnostic diag = rootOp->emitRemark(text);
    if (narrowOp)
      diag.attachNote(narrowOp->getLoc())
          << "statistics computed in " << type << " here";
  }

  void emitReport(Operation *rootOp, const Capture &capture,
                  NormOpInterface normOp) const {
    size_t numOps = capture.translator->getVisitedOps().size();
    std::string text =
        llvm::formatv("captured {0} from {1} ops", normOp->getName(), numOps);
    StringRef function;
    if (auto func = rootOp->getParentOfType<FunctionOpInterface>())
      function = func.getName();
    remark::passed(rootOp->getLoc(), remark::RemarkOpts::name("NormCapture")
                                         .category("norm-capture")
                                         .function(function))
        << StringRef(text);
    if (capture.match.narrowStatistic)
      emitNarrowRemark(rootOp, capture.match, /*captured=*/true);
    if (options.report)
      rootOp->emitRemark(text);
  }

  NormCaptureOptions options;
};

/// Erases what a capture leaves dead: producers of erased ops that have no
/// users left, transitively. Dead code that was there before is not touched.
/// Every notification is forwarded to the caller's listener, if any.
struct DeadChainEraser : public RewriterBase::ForwardingListener {
  using ForwardingListener::ForwardingListener;

  void notifyOperationErased(Operation *op) override {
    erased.insert(op);
    for (Value operand : op->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        worklist.push_back(producer);
    ForwardingListener::notifyOperationErased(op);
  }

  void eraseDeadProducers(RewriterBase &rewriter) {
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (!erased.contains(op) && isOpTriviallyDead(op))
        rewriter.eraseOp(op);
    }
  }

  DenseSet<Operation *> erased;
  SmallVector<Operation *> worklist;
};

struct NormCapturePass : public norm::impl::NormCaptureBase<NormCapturePass> {
  using Base::Base;

  void runOnOperation() override {
    NormCaptureOptions options;
    options.report = report;
    options.widenStatistics = widenStatistics;
    captureNorms(getOperation(), options);
  }
};
} // namespace

void mlir::norm::captureNorms(Operation *root,
                              const NormCaptureOptions &options,
                              RewriterBase::Listener *listener) {
  MLIRContext *context = root->getContext();
  RewritePatternSet patterns(context);
  populateNormCapturePatterns(patterns, options);
  FrozenRewritePatternSet frozen(std::move(patterns));
  PatternApplicator applicator(frozen);
  applicator.applyDefaultCostModel();

  // Visit each block bottom-up, so a chain's final op comes first, and
  // rewrite nothing but the captures: no folding, no other clean-up than
  // erasing the ops a capture left without users.
  SmallVector<Operation *> ops;
  root->walk([&](Operation *op) {
    if (op != root)
      ops.push_back(op);
  });
  DeadChainEraser eraser(listener);
  PatternRewriter rewriter(context);
  rewriter.setListener(&eraser);
  for (Operation *op : llvm::reverse(ops)) {
    if (eraser.erased.contains(op))
      continue;
    rewriter.setInsertionPoint(op);
    if (succeeded(applicator.matchAndRewrite(op, rewriter)))
      eraser.eraseDeadProducers(rewriter);
  }
}

void mlir::norm::populateNormCapturePatterns(
    RewritePatternSet &patterns, const NormCaptureOptions &options) {
  patterns.add<CaptureNormPattern>(patterns.getContext(), options);
}
