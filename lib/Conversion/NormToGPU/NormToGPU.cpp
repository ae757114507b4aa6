//===- NormToGPU.cpp - Lower norm ops to GPU kernels ----------------------===//
//
// Rewrites a norm op on memrefs into a `gpu.launch` in which a group of G
// threads normalises one row of N elements (R groups, and so R rows, per
// block). Views of the operands collapse the row dims and the normalised
// dims, so the kernel always sees rows x N. This file holds the checks, the
// host side of the launch (views, host scalars, grid) and the pass; the
// thread plan is KernelPlan.h's, the kernel body KernelEmitter.h's and the
// sums across threads RowReductions.h's.
//
//===----------------------------------------------------------------------===//

#include "norm/Conversion/NormToGPU/NormToGPU.h"

#include "KernelEmitter.h"
#include "KernelPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_CONVERTNORMTOGPU
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

//===----------------------------------------------------------------------===//
// Checks and the rewrite.
//===----------------------------------------------------------------------===//

LogicalResult
mlir::norm::checkNormToGPUOptions(const ConvertNormToGPUOptions &options,
                                  std::string *whyNot) {
  std::string message;
  llvm::raw_string_ostream os(message);
  int64_t blockSize = options.blockSize;
  int64_t rowsPerBlock = options.rowsPerBlock;
  int64_t vectorWidth = options.vectorWidth;
  if (blockSize && (blockSize < kWarpSize || blockSize > kMaxBlockSize ||
                    blockSize % kWarpSize != 0))
    os << "block-size must be a multiple of " << kWarpSize << " from "
       << kWarpSize << " to " << kMaxBlockSize << ", got " << blockSize;
  else if (rowsPerBlock < 0 || rowsPerBlock > kMaxBlockSize)
    os << "rows-per-block must be from 1 to " << kMaxBlockSize << ", got "
       << rowsPerBlock;
  else if (!blockSize && rowsPerBlock && !llvm::isPowerOf2_64(rowsPerBlock))
    os << "rows-per-block must be a power of two when block-size is not "
          "given, got "
       << rowsPerBlock;
  else if (blockSize && rowsPerBlock &&
           (blockSize % rowsPerBlock != 0 ||
            !isValidThreadsPerRow(blockSize / rowsPerBlock)))
    os << "block-size / rows-per-block (" << blockSize << " / " << rowsPerBlock
       << ") must be a power of two up to " << kWarpSize << " or a multiple of "
       << kWarpSize;
  else if (vectorWidth < 0 || vectorWidth > 16 ||
           (vectorWidth && !llvm::isPowerOf2_64(vectorWidth)))
    os << "vector-width must be a power of two up to 16, got " << vectorWidth;
  if (message.empty())
    return success();
  if (whyNot)
    *whyNot = std::move(message);
  return failure();
}

/// The checks every op lowered to kernels passes: on memrefs, in host code,
/// a float `outScale` if any, and each of `operands` of a loadable element
/// type (`output` may also be quantised when `quantizedOutput`), in global
/// memory, and viewable as rows x N. Says why not in `os`.
static bool checkLowerable(Operation *op, bool hasPureTensorSemantics,
                           int64_t axis, ArrayRef<NamedOperand> operands,
                           Value output, bool quantizedOutput, Value outScale,
                           raw_ostream &os) {
  if (hasPureTensorSemantics) {
    os << "expects memref operands; bufferize the op before lowering it to "
          "GPU code";
    return false;
  }
  if (op->getParentOfType<gpu::LaunchOp>() ||
      op->getParentOfType<gpu::GPUFuncOp>() ||
      op->getParentOfType<gpu::GPUModuleOp>()) {
    os << "is already in GPU code; only host code can launch a kernel";
    return false;
  }
  if (outScale && !isLowerableElementType(outScale.getType())) {
    os << "expects an f16, bf16, f32 or f64 out_scale to lower it to GPU "
          "code, got '"
       << outScale.getType() << "'";
    return false;
  }
  for (const NamedOperand &operand : operands) {
    if (!operand.value)
      continue;
    auto type = cast<MemRefType>(operand.value.getType());
    bool isQuantizedOutput = quantizedOutput && operand.value == output;
    if (!isLowerableElementType(type.getElementType(), isQuantizedOutput)) {
      os << "expects f16, bf16, f32 or f64 elements in the " << operand.name;
      if (output && operand.value == output)
        os << " (or i8 or f8E4M3FN with an out_scale)";
      os << " to lower it to GPU code, got '" << type.getElementType() << "'";
      return false;
    }
    if (!isGlobalMemorySpace(type)) {
      os << "expects the " << operand.name
         << " in global memory, got memory space " << type.getMemorySpace();
      return false;
    }
    if (failed(getViewType(type, operand.kind, axis))) {
      os << "expects the " << operand.name
         << " to be contiguous within its row dimensions and within its "
            "normalised dimensions, got '"
         << type << "'";
      return false;
    }
  }
  return true;
}

LogicalResult mlir::norm::checkNormOpLowerableToGPU(NormOpInterface op,
                                                    std::string *whyNot) {
  std::string message;
  llvm::raw_string_ostream os(message);
  if (checkLowerable(op, op.hasPureTensorSemantics(), op.getNormalizedAxis(),
                     getNamedOperands(op), op.getOutput(),
                     op.hasQuantizedOutput(), op.getOutScale(), os))
    return success();
  if (whyNot)
    *whyNot = std::move(message);
  return failure();
}

LogicalResult mlir::norm::checkNormGradOpLowerableToGPU(NormGradOpInterface op,
                                                        std::string *whyNot) {
  std::string message;
  llvm::raw_string_ostream os(message);
  if (checkLowerable(op, op.hasPureTensorSemantics(), op.getNormalizedAxis(),
                     getNamedOperands(op), /*output=*/Value(),
                     /*quantizedOutput=*/false, /*outScale=*/Value(), os))
    return success();
  if (whyNot)
    *whyNot = std::move(message);
  return failure();
}

/// The views of `op`'s operands and the host-side scalars the kernel takes,
/// created at the insertion point.
static KernelOperands createKernelOperands(OpBuilder &b, NormOpInterface op) {
  Location loc = op->getLoc();
  int64_t axis = op.getNormalizedAxis();
  Type computeType = getComputeElementType(op.getInputType().getElementType());
  KernelOperands operands;
  auto view = [&](Value value, ViewKind kind) -> Value {
    if (!value)
      return {};
    return createView(b, loc, value, kind, axis);
  };
  operands.input = view(op.getInput(), ViewKind::Matrix);
  operands.residual = view(op.getResidual(), ViewKind::Matrix);
  operands.gamma = view(op.getGamma(), ViewKind::Vector);
  operands.beta = view(op.getBeta(), ViewKind::Vector);
  operands.output = view(op.getOutput(), ViewKind::Matrix);
  operands.residualOutput = view(op.getResidualOutput(), ViewKind::Matrix);
  operands.mean = view(op.getMean(), ViewKind::Rows);
  operands.rstd = view(op.getRstd(), ViewKind::Rows);
  operands.scales = view(op.getScales(),
                         op.getGroupSize() ? ViewKind::Matrix : ViewKind::Rows);
  if (Value bound = op.getScaleUb())
    operands.scaleUb = createFloatConversion(b, loc, bound, b.getF32Type());

  // Host-side scalars: epsilon and c = 1/sqrt(N) in the compute type.
  if (Value eps = op.getEpsValue())
    operands.eps = createFloatConversion(b, loc, eps, computeType);
  else
    operands.epsConstant = getEpsilonAttr(computeType, *op.getEpsilon());
  // The kernel divides by the quantised output's scale in the compute type,
  // as the reference does: converted once here, passed as an argument.
  if (Value scale = op.getOutScale())
    operands.outScale = createFloatConversion(b, loc, scale, computeType);
  int64_t rowSize = cast<MemRefType>(operands.input.getType()).getDimSize(1);
  if (!ShapedType::isDynamic(rowSize)) {
    operands.invSqrtNConstant = getInvSqrtRowSizeAttr(computeType, rowSize);
    operands.rowSizeConstant = getRowSizeAttr(computeType, rowSize);
    operands.invRowSizeConstant = getInvRowSizeAttr(computeType, rowSize);
    return operands;
  }
  Value n = memref::DimOp::create(b, loc, operands.input, 1);
  operands.rowSize = createRowSizeFromIndex(b, loc, computeType, n);
  operands.invSqrtN = createInvSqrtRowSize(b, loc, operands.rowSize);
  return operands;
}

/// The views of `op`'s operands accessed V elements at a time, or failure
/// when one does not collapse.
static FailureOr<SmallVector<MemRefType>> getVectorViews(NormOpInterface op) {
  SmallVector<MemRefType> vectorViews;
  for (const NamedOperand &operand : getNamedOperands(op)) {
    // Row-shaped operands and the scales are accessed an element at a time.
    if (!operand.value || operand.kind == ViewKind::Rows ||
        operand.value == op.getScales())
      continue;
    FailureOr<MemRefType> view =
        getViewType(cast<MemRefType>(operand.value.getType()), operand.kind,
                    op.getNormalizedAxis());
    if (failed(view))
      return failure();
    vectorViews.push_back(*view);
  }
  return vectorViews;
}

void mlir::norm::emitNormLaunch(OpBuilder &b, NormOpInterface op,
                                const ConvertNormToGPUOptions &options,
                                bool statisticsOnly, Value meanOffset) {
  Location loc = op->getLoc();
  Type inputType = op.getInputType().getElementType();
  Type computeType = getComputeElementType(inputType);

  // Views of everything accessed V elements at a time decide V.
  FailureOr<SmallVector<MemRefType>> vectorViews = getVectorViews(op);
  assert(succeeded(vectorViews) && "views checked by the caller");
  KernelPlan plan =
      planKernel(inputType, /*heldArrays=*/1, *vectorViews, options);
  // Where the row length, strides or offsets are known only at run time
  // (?x? from a front end), a wider plan holds when they allow it: both
  // kernels, the wide one chosen per call by emitVectorAccessCheck.
  KernelPlan widePlan = planKernel(inputType, /*heldArrays=*/1, *vectorViews,
                                   options, /*assumeDynamic=*/true);

  KernelOperands operands = createKernelOperands(b, op);
  // Every view accessed V elements at a time (as getVectorViews).
  SmallVector<Value> vectorAccessed;
  for (Value view : {operands.input, operands.residual, operands.gamma,
                     operands.beta, operands.output, operands.residualOutput})
    if (view)
      vectorAccessed.push_back(view);
  if (statisticsOnly)
    operands.output = operands.residualOutput = Value();
  operands.meanOffset = meanOffset;
  auto inputView = cast<MemRefType>(operands.input.getType());

  // One block per R rows; nothing to launch for zero rows.
  int64_t numRows = inputView.getDimSize(0);
  if (numRows == 0)
    return;
  Value rowCount;
  if (ShapedType::isDynamic(numRows))
    rowCount = memref::DimOp::create(b, loc, operands.input, 0);
  else
    rowCount = arith::ConstantIndexOp::create(b, loc, numRows);

  // One block per R rows, and the block size: of the plan, here; of the
  // wide plan, beside its launch, where they differ.
  auto getGeometry = [&](const KernelPlan &kernelPlan) {
    Value gridSize = rowCount;
    if (kernelPlan.rowsPerBlock > 1)
      gridSize = b.createOrFold<arith::CeilDivUIOp>(
          loc, rowCount,
          arith::ConstantIndexOp::create(b, loc, kernelPlan.rowsPerBlock));
    Value blockSize =
        arith::ConstantIndexOp::create(b, loc, kernelPlan.getBlockSize());
    return std::make_pair(gridSize, blockSize);
  };
  std::pair<Value, Value> geometry = getGeometry(plan);

  OpBuilder::InsertionGuard guard(b);
  if (ShapedType::isDynamic(numRows)) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value hasRows = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                          rowCount, zero);
    auto ifOp = scf::IfOp::create(b, loc, hasRows, /*withElseRegion=*/false);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  }

  auto launchWith = [&](const KernelPlan &kernelPlan,
                        std::pair<Value, Value> kernelGeometry) {
    OpBuilder::InsertionGuard launchGuard(b);
    SmallVector<Type> workgroupBuffers;
    if (kernelPlan.getWarpsPerRow() > 1) {
      // One exchange region for RMSNorm, two (the sum, then the sum of
      // squares) for LayerNorm; one more for a row's amax (per-token
      // dynamic quantisation).
      int64_t fields = getNumExchangeRegions(op) * kSharedFields;
      workgroupBuffers.push_back(getWorkgroupBufferType(
          b.getContext(),
          kernelPlan.rowsPerBlock * kernelPlan.getWarpsPerRow() * fields,
          computeType));
    }
    gpu::LaunchOp launch = createLaunch(
        b, loc, kernelGeometry.first, kernelGeometry.second, workgroupBuffers);
    emitNormKernel(b, loc, op, kernelPlan, operands, launch);
  };
  if (widePlan.vectorWidth <= plan.vectorWidth) {
    launchWith(plan, geometry);
    return;
  }
  Value wide =
      emitVectorAccessCheck(b, loc, vectorAccessed, widePlan.vectorWidth);
  auto ifOp = scf::IfOp::create(b, loc, wide, /*withElseRegion=*/true);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  // A row length known only at run time: rows up to a bucket's length are
  // held in registers by the kernel planned for it, chosen per call by N;
  // longer rows are streamed.
  if (ShapedType::isDynamic(inputView.getDimSize(1)) &&
      !widePlan.holdsRowInRegisters()) {
    Value rowLength = memref::DimOp::create(b, loc, operands.input, 1);
    for (int64_t bound : getRowLengthBuckets()) {
      KernelPlan bucketPlan =
          planKernel(inputType, /*heldArrays=*/1, *vectorViews, options,
                     /*assumeDynamic=*/true, bound);
      if (!bucketPlan.holdsRowInRegisters() ||
          bucketPlan.vectorWidth != widePlan.vectorWidth)
        continue;
      Value bucketBound = arith::ConstantIndexOp::create(b, loc, bound);
      Value fits = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                         rowLength, bucketBound);
      auto bucketIf = scf::IfOp::create(b, loc, fits, /*withElseRegion=*/true);
      b.setInsertionPoint(bucketIf.thenBlock()->getTerminator());
      launchWith(bucketPlan, getGeometry(bucketPlan));
      b.setInsertionPoint(bucketIf.elseBlock()->getTerminator());
    }
  }
  launchWith(widePlan, getGeometry(widePlan));
  b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  launchWith(plan, geometry);
}

LogicalResult
mlir::norm::lowerNormOpToGPULaunch(RewriterBase &rewriter, NormOpInterface op,
                                   const ConvertNormToGPUOptions &options) {
  if (failed(getVectorViews(op)))
    return rewriter.notifyMatchFailure(op, "operand layout not collapsible");
  rewriter.setInsertionPoint(op);
  emitNormLaunch(rewriter, op, options, /*statisticsOnly=*/false);
  rewriter.eraseOp(op);
  return success();
}

namespace {
/// Replaces a norm op on memrefs by a `gpu.launch` computing it.
struct NormOpToGPULaunch : public OpInterfaceRewritePattern<NormOpInterface> {
  NormOpToGPULaunch(MLIRContext *context,
                    const ConvertNormToGPUOptions &options)
      : OpInterfaceRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    std::string whyNot;
    if (failed(checkNormToGPUOptions(options, &whyNot)) ||
        failed(checkNormOpLowerableToGPU(op, &whyNot)))
      return rewriter.notifyMatchFailure(op, whyNot);
    return lowerNormOpToGPULaunch(rewriter, op, options);
  }

  ConvertNormToGPUOptions options;
};

/// Replaces a gradient op on memrefs by the `gpu.launch`es computing it.
struct NormGradOpToGPULaunches
    : public OpInterfaceRewritePattern<NormGradOpInterface> {
  NormGradOpToGPULaunches(MLIRContext *context,
                          const ConvertNormToGPUOptions &options)
      : OpInterfaceRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(NormGradOpInterface op,
                                PatternRewriter &rewriter) const override {
    std::string whyNot;
    if (failed(checkNormToGPUOptions(options, &whyNot)) ||
        failed(checkNormGradOpLowerableToGPU(op, &whyNot)))
      return rewriter.notifyMatchFailure(op, whyNot);
    return lowerNormGradOpToGPU(rewriter, op, options);
  }

  ConvertNormToGPUOptions options;
};

struct ConvertNormToGPUPass
    : public norm::impl::ConvertNormToGPUBase<ConvertNormToGPUPass> {
  using Base::Base;

  /// The pass's options as the patterns take them.
  ConvertNormToGPUOptions getLoweringOptions() const {
    return {blockSize, rowsPerBlock, vectorWidth};
  }

  void runOnOperation() override {
    ConvertNormToGPUOptions options = getLoweringOptions();
    std::string whyNot;
    if (failed(checkNormToGPUOptions(options, &whyNot))) {
      getOperation()->emitError("convert-norm-to-gpu: ") << whyNot;
      return signalPassFailure();
    }

    // Check every op first, so that nothing is rewritten when one of them
    // cannot be.
    SmallVector<Operation *> ops;
    bool anyRefused = false;
    getOperation()->walk([&](Operation *op) {
      LogicalResult lowerable = success();
      if (auto normOp = dyn_cast<NormOpInterface>(op))
        lowerable = checkNormOpLowerableToGPU(normOp, &whyNot);
      else if (auto gradOp = dyn_cast<NormGradOpInterface>(op))
        lowerable = checkNormGradOpLowerableToGPU(gradOp, &whyNot);
      else
        return;
      ops.push_back(op);
      if (succeeded(lowerable))
        return;
      op->emitOpError() << whyNot;
      anyRefused = true;
    });
    if (anyRefused)
      return signalPassFailure();

    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      LogicalResult lowered =
          isa<NormOpInterface>(op)
              ? lowerNormOpToGPULaunch(rewriter, cast<NormOpInterface>(op),
                                       options)
              : lowerNormGradOpToGPU(rewriter, cast<NormGradOpInterface>(op),
                                     options);
      if (succeeded(lowered))
        continue;
      op->emitOpError("could not be lowered to GPU kernels");
      return signalPassFailure();
    }
  }
};
} // namespace

FailureOr<ConvertNormToGPUOptions> mlir::norm::parseNormToGPUOptions(
    StringRef text, function_ref<LogicalResult(const Twine &)> errorHandler) {
  ConvertNormToGPUPass pass;
  if (failed(pass.initializeOptions(text, errorHandler)))
    return failure();
  return pass.getLoweringOptions();
}

void mlir::norm::populateNormToGPUConversionPatterns(
    RewritePatternSet &patterns, const ConvertNormToGPUOptions &options) {
  patterns.add<NormOpToGPULaunch, NormGradOpToGPULaunches>(
      patterns.getContext(), options);
}
