//===- NormTransformOps.cpp - Transform dialect ops for norm --------------===//
//
// `transform.norm.capture` and `transform.norm.fuse` run the drivers of
// `--norm-capture` and `--norm-fuse` on the targets of a handle and return
// handles to the norm ops they created; `transform.apply_patterns.norm.*`
// hand the lowerings' patterns to `transform.apply_patterns`.
//
//===----------------------------------------------------------------------===//

#include "norm/Dialect/Norm/TransformOps/NormTransformOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "norm/Conversion/Passes.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Transforms/Passes.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::norm;

//===----------------------------------------------------------------------===//
// Shared by capture and fuse.
//===----------------------------------------------------------------------===//

namespace {
/// Records the norm ops created (not moved) while it listens and not erased
/// since, and forwards every notification to the transform rewriter's
/// listener, which keeps the handles up to date.
struct CreatedNormOpsListener : public RewriterBase::ForwardingListener {
  using ForwardingListener::ForwardingListener;

  void notifyOperationInserted(Operation *op,
                               OpBuilder::InsertPoint previous) override {
    if (!previous.isSet() && isa<NormOpInterface>(op))
      created.insert(op);
    ForwardingListener::notifyOperationInserted(op, previous);
  }

  void notifyOperationErased(Operation *op) override {
    created.erase(op);
    ForwardingListener::notifyOperationErased(op);
  }

  /// The created norm ops nested in `targets`, in the order in which they
  /// appear there.
  SmallVector<Operation *> getCreatedOps(ArrayRef<Operation *> targets) const {
    llvm::SetVector<Operation *> ops;
    for (Operation *target : targets)
      target->walk([&](NormOpInterface op) {
        if (created.contains(op))
          ops.insert(op);
      });
    return ops.takeVector();
  }

  DenseSet<Operation *> created;
};
} // namespace

/// The payload ops of `target`, if they are all functions or modules; a
/// silenceable failure naming the first that is not otherwise.
static DiagnosedSilenceableFailure
getFunctionsOrModules(transform::TransformOpInterface transformOp,
                      transform::TransformState &state, Value target,
                      SmallVectorImpl<Operation *> &targets) {
  for (Operation *op : state.getPayloadOps(target)) {
    if (!isa<FunctionOpInterface, ModuleOp>(op)) {
      DiagnosedSilenceableFailure diag =
          emitSilenceableFailure(transformOp)
          << "expects a handle to functions or modules, got '" << op->getName()
          << "'";
      diag.attachNote(op->getLoc()) << "target op";
      return diag;
    }
    targets.push_back(op);
  }
  return DiagnosedSilenceableFailure::success();
}

//===----------------------------------------------------------------------===//
// NormCaptureOp
//===----------------------------------------------------------------------===//

DiagnosedSilenceableFailure
transform::NormCaptureOp::apply(transform::TransformRewriter &rewriter,
                                transform::TransformResults &results,
                                transform::TransformState &state) {
  SmallVector<Operation *> targets;
  DiagnosedSilenceableFailure diag =
      getFunctionsOrModules(*this, state, getTarget(), targets);
  if (!diag.succeeded())
    return diag;

  NormCaptureOptions options;
  options.report = getReport();
  options.widenStatistics = getWidenStatistics();
  CreatedNormOpsListener listener(rewriter.getListener());
  for (Operation *target : targets)
    captureNorms(target, options, &listener);
  results.set(cast<OpResult>(getNormOps()), listener.getCreatedOps(targets));
  return DiagnosedSilenceableFailure::success();
}

void transform::NormCaptureOp::getEffects(
    SmallVectorImpl<MemoryEffects::EffectInstance> &effects) {
  onlyReadsHandle(getTargetMutable(), effects);
  producesHandle(getOperation()->getOpResults(), effects);
  modifiesPayload(effects);
}

//===----------------------------------------------------------------------===//
// NormFuseOp
//===----------------------------------------------------------------------===//

DiagnosedSilenceableFailure
transform::NormFuseOp::apply(transform::TransformRewriter &rewriter,
                             transform::TransformResults &results,
                             transform::TransformState &state) {
  SmallVector<Operation *> targets;
  DiagnosedSilenceableFailure diag =
      getFunctionsOrModules(*this, state, getTarget(), targets);
  if (!diag.succeeded())
    return diag;

  CreatedNormOpsListener listener(rewriter.getListener());
  for (Operation *target : targets) {
    if (failed(fuseNorms(target, &listener)))
      return emitSilenceableError() << "the fusion did not converge";
  }
  results.set(cast<OpResult>(getFusedOps()), listener.getCreatedOps(targets));
  return DiagnosedSilenceableFailure::success();
}

void transform::NormFuseOp::getEffects(
    SmallVectorImpl<MemoryEffects::EffectInstance> &effects) {
  onlyReadsHandle(getTargetMutable(), effects);
  producesHandle(getOperation()->getOpResults(), effects);
  modifiesPayload(effects);
}

//===----------------------------------------------------------------------===//
// Lowering patterns
//===----------------------------------------------------------------------===//

void transform::ApplyNormLowerToLinalgPatternsOp::populatePatterns(
    RewritePatternSet &patterns) {
  populateNormToLinalgConversionPatterns(patterns);
}

LogicalResult transform::ApplyNormLowerToAffinePatternsOp::verify() {
  auto emitOptionError = [&](const Twine &message) {
    return emitOpError("invalid options: ") << message;
  };
  return parseNormToAffineOptions(getOptions().value_or(""), emitOptionError);
}

void transform::ApplyNormLowerToAffinePatternsOp::populatePatterns(
    RewritePatternSet &patterns) {
  // The verifier has parsed the options already.
  FailureOr<ConvertNormToAffineOptions> options = parseNormToAffineOptions(
      getOptions().value_or(""), [](const Twine &) { return failure(); });
  if (succeeded(options))
    populateNormToAffineConversionPatterns(patterns, *options);
}

LogicalResult transform::ApplyNormLowerToGPUPatternsOp::verify() {
  auto emitOptionError = [&](const Twine &message) {
    return emitOpError("invalid options: ") << message;
  };
  FailureOr<ConvertNormToGPUOptions> options =
      parseNormToGPUOptions(getOptions().value_or(""), emitOptionError);
  if (failed(options))
    return failure();
  std::string whyNot;
  if (failed(checkNormToGPUOptions(*options, &whyNot)))
    return emitOptionError(whyNot);
  return success();
}

void transform::ApplyNormLowerToGPUPatternsOp::populatePatterns(
    RewritePatternSet &patterns) {
  // The verifier has parsed and checked the options already.
  FailureOr<ConvertNormToGPUOptions> options = parseNormToGPUOptions(
      getOptions().value_or(""), [](const Twine &) { return failure(); });
  if (succeeded(options))
    populateNormToGPUConversionPatterns(patterns, *options);
}

//===----------------------------------------------------------------------===//
// The extension
//===----------------------------------------------------------------------===//

#define GET_OP_CLASSES
#include "norm/Dialect/Norm/TransformOps/NormTransformOps.cpp.inc"

namespace {
/// The norm ops of the transform dialect, and the dialects whose ops they
/// create (loaded when the transform dialect is).
class NormTransformDialectExtension
    : public transform::TransformDialectExtension<
          NormTransformDialectExtension> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(NormTransformDialectExtension)

  using Base::Base;

  void init() {
    declareGeneratedDialect<NormDialect>();
    declareGeneratedDialect<affine::AffineDialect>();
    declareGeneratedDialect<arith::ArithDialect>();
    declareGeneratedDialect<gpu::GPUDialect>();
    declareGeneratedDialect<linalg::LinalgDialect>();
    declareGeneratedDialect<LLVM::LLVMDialect>();
    declareGeneratedDialect<math::MathDialect>();
    declareGeneratedDialect<memref::MemRefDialect>();
    declareGeneratedDialect<scf::SCFDialect>();
    declareGeneratedDialect<tensor::TensorDialect>();
    declareGeneratedDialect<vector::VectorDialect>();

    registerTransformOps<
#define GET_OP_LIST
#include "norm/Dialect/Norm/TransformOps/NormTransformOps.cpp.inc"
        >();
  }
};
} // namespace

void mlir::norm::registerTransformDialectExtension(DialectRegistry &registry) {
  registry.addExtensions<NormTransformDialectExtension>();
}
