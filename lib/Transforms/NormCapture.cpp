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

#include "CaptureExpr.h"
#include "CaptureMatch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
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
/// A proven capture at one root value, with the translation it rests on.
struct Capture {
  std::unique_ptr<ExprContext> context;
  std::unique_ptr<ExprTranslator> translator;
  NormMatch match;
  /// Set when the root's value is an identity copy of this other value.
  Value copyOf;
};
} // namespace

/// Whether `op` may compute the output of a decomposed norm.
static bool isCandidateRoot(Operation *op) {
  if (isa<NormOpInterface>(op) || op->getNumResults() == 0)
    return false;
  return isa<linalg::LinalgDialect, tosa::TosaDialect, arith::ArithDialect,
             math::MathDialect, tensor::TensorDialect>(op->getDialect());
}

/// Translates `root` and proves it is a norm.
static FailureOr<Capture> matchRoot(OpResult root, StringRef &reason) {
  // Narrower results (f8) would need the op's saturating quantised output,
  // which is not what a plain truncation does.
  auto type = dyn_cast<RankedTensorType>(root.getType());
  if (!type ||
      !isa<Float16Type, BFloat16Type, Float32Type, Float64Type>(
          type.getElementType()) ||
      type.getRank() < 1 || type.getRank() > 64) {
    reason = "not an f16, bf16, f32 or f64 tensor of rank 1 to 64";
    return failure();
  }
  Capture capture;
  capture.context = std::make_unique<ExprContext>(type.getShape());
  capture.translator = std::make_unique<ExprTranslator>(*capture.context);
  Expr *expr = capture.translator->translate(
      root,
      AffineMap::getMultiDimIdentityMap(type.getRank(), root.getContext()));
  if (expr->is(ExprKind::Load)) {
    reason = "not a computation the capture can read";
    return failure();
  }
  FailureOr<NormMatch> match =
      matchNorm(*capture.translator, expr, type, reason);
  if (failed(match))
    return failure();
  capture.match = *match;
  // A root that only copies (or reshapes) another value of the same norm: that
  // value is captured instead, and the copy stays as it was.
  capture.copyOf = capture.translator->getMaterializedValue(expr);
  if (capture.copyOf == root)
    capture.copyOf = Value();
  return capture;
}

/// Whether a user of `root` ends a larger norm that contains `root`'s op (a
/// norm without gamma whose only user applies gamma): that one is captured
/// (or refused) instead.
static bool isPartOfLargerNorm(OpResult root) {
  for (Operation *user : root.getUsers()) {
    if (!isCandidateRoot(user))
      continue;
    for (OpResult result : user->getResults()) {
      StringRef reason;
      FailureOr<Capture> outer = matchRoot(result, reason);
      if (succeeded(outer) && !outer->copyOf &&
          outer->translator->wasVisited(root.getOwner()))
        return true;
    }
  }
  return false;
}

/// Whether `value` has a user the capture did not translate (so it must
/// survive the capture).
static bool hasOtherUsers(Value value, const ExprTranslator &translator) {
  return llvm::any_of(value.getUsers(), [&](Operation *user) {
    return !translator.wasVisited(user);
  });
}

/// `value` with its leading unit dims folded away, down to `rank` dims.
static Value dropLeadingUnitDims(PatternRewriter &rewriter, Location loc,
                                 Value value, int64_t rank) {
  if (!value)
    return value;
  auto type = cast<RankedTensorType>(value.getType());
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

/// Builds the norm op that replaces `root`.
static Value buildNormOp(PatternRewriter &rewriter, OpResult root,
                         Capture &capture) {
  const NormMatch &match = capture.match;
  const ExprTranslator &translator = *capture.translator;
  Operation *rootOp = root.getOwner();
  auto type = cast<RankedTensorType>(root.getType());
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
  Type inputElementType =
      cast<RankedTensorType>(input.getType()).getElementType();

  Value epsValue;
  FloatAttr epsAttr;
  if (match.epsilon) {
    epsAttr = getEpsilonAttr(rewriter, *match.epsilon,
                             getComputeElementType(inputElementType));
  } else if (match.epsScalar) {
    epsValue = match.epsScalar;
  } else {
    auto epsType = cast<RankedTensorType>(match.epsTensor.getType());
    SmallVector<Value> zeros(epsType.getRank(),
                             arith::ConstantIndexOp::create(rewriter, loc, 0));
    epsValue = tensor::ExtractOp::create(rewriter, loc, match.epsTensor, zeros);
  }

  int64_t normalizedRank = rank - match.axis;
  Value gamma = dropLeadingUnitDims(rewriter, loc, match.gamma, normalizedRank);
  Value beta = dropLeadingUnitDims(rewriter, loc, match.beta, normalizedRank);

  // The destination: the root's own, if it is not part of the chain.
  Value init;
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(rootOp)) {
    Value candidate = dps.getDpsInitOperand(root.getResultNumber())->get();
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
    return LayerNormOp::create(rewriter, loc, TypeRange{type}, input, residual,
                               gamma, beta, epsValue, /*out_scale=*/Value(),
                               init,
                               /*residual_output=*/Value(), /*mean=*/Value(),
                               /*rstd=*/Value(), axisAttr, epsAttr)
        .getOutputResult();
  return RMSNormOp::create(rewriter, loc, TypeRange{type}, input, residual,
                           gamma, epsValue, /*out_scale=*/Value(), init,
                           /*residual_output=*/Value(),
                           /*rstd=*/Value(), axisAttr, epsAttr)
      .getOutputResult();
}

namespace {
/// Replaces the final value of a decomposed LayerNorm / RMSNorm by a norm op.
struct CaptureNormPattern : public RewritePattern {
  CaptureNormPattern(MLIRContext *context, const NormCaptureOptions &options)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context),
        options(options) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isCandidateRoot(op))
      return failure();
    for (OpResult result : op->getResults()) {
      if (result.use_empty())
        continue;
      StringRef reason;
      FailureOr<Capture> capture = matchRoot(result, reason);
      if (failed(capture)) {
        (void)rewriter.notifyMatchFailure(op, reason);
        continue;
      }
      if (capture->copyOf) {
        (void)rewriter.notifyMatchFailure(op, "a copy of a norm's value");
        continue;
      }
      if (isPartOfLargerNorm(result)) {
        (void)rewriter.notifyMatchFailure(op, "part of a larger norm");
        continue;
      }
      if (capture->match.narrowStatistic && !options.widenStatistics) {
        emitNarrowRemark(result, capture->match, /*captured=*/false);
        (void)rewriter.notifyMatchFailure(op, "statistics narrower than f32");
        continue;
      }
      Value replacement = buildNormOp(rewriter, result, *capture);
      emitReport(result, *capture, replacement);
      if (op->getNumResults() == 1)
        rewriter.replaceOp(op, replacement);
      else
        rewriter.replaceAllUsesWith(result, replacement);
      return success();
    }
    return failure();
  }

private:
  /// The remark for a chain whose statistics are narrower than f32: left
  /// alone, or (`captured`) widened by the capture. Emitted whether or not
  /// `report` is set (it is about the program's numbers), and to the remark
  /// engine.
  static void emitNarrowRemark(OpResult root, const NormMatch &match,
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
    Operation *rootOp = root.getOwner();
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

  void emitReport(OpResult root, const Capture &capture,
                  Value replacement) const {
    Operation *normOp = replacement.getDefiningOp();
    size_t numOps = capture.translator->getVisitedOps().size();
    std::string text =
        llvm::formatv("captured {0} from {1} ops", normOp->getName(), numOps);
    Operation *rootOp = root.getOwner();
    StringRef function;
    if (auto func = rootOp->getParentOfType<FunctionOpInterface>())
      function = func.getName();
    remark::passed(rootOp->getLoc(), remark::RemarkOpts::name("NormCapture")
                                         .category("norm-capture")
                                         .function(function))
        << StringRef(text);
    if (capture.match.narrowStatistic)
      emitNarrowRemark(root, capture.match, /*captured=*/true);
    if (options.report)
      rootOp->emitRemark(text);
  }

  NormCaptureOptions options;
};

/// Erases what a capture leaves dead: producers of erased ops that have no
/// users left, transitively. Dead code that was there before is not touched.
struct DeadChainEraser : public RewriterBase::Listener {
  void notifyOperationErased(Operation *op) override {
    erased.insert(op);
    for (Value operand : op->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        worklist.push_back(producer);
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
    RewritePatternSet patterns(&getContext());
    NormCaptureOptions options;
    options.report = report;
    options.widenStatistics = widenStatistics;
    populateNormCapturePatterns(patterns, options);
    FrozenRewritePatternSet frozen(std::move(patterns));
    PatternApplicator applicator(frozen);
    applicator.applyDefaultCostModel();

    // Visit each block bottom-up, so a chain's final op comes first, and
    // rewrite nothing but the captures: no folding, no other clean-up than
    // erasing the ops a capture left without users.
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (op != getOperation())
        ops.push_back(op);
    });
    DeadChainEraser eraser;
    PatternRewriter rewriter(&getContext());
    rewriter.setListener(&eraser);
    for (Operation *op : llvm::reverse(ops)) {
      if (eraser.erased.contains(op))
        continue;
      rewriter.setInsertionPoint(op);
      if (succeeded(applicator.matchAndRewrite(op, rewriter)))
        eraser.eraseDeadProducers(rewriter);
    }
  }
};
} // namespace

void mlir::norm::populateNormCapturePatterns(
    RewritePatternSet &patterns, const NormCaptureOptions &options) {
  patterns.add<CaptureNormPattern>(patterns.getContext(), options);
}
