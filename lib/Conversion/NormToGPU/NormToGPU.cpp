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

LogicalResult mlir::norm::checkNormOpLowerableToGPU(NormOpInterface op,
                                                    std::string *whyNot) {
  std::string message;
  llvm::raw_string_ostream os(message);
  auto fail = [&]() {
    if (whyNot)
      *whyNot = std::move(message);
    return failure();
  };
  if (op.hasPureTensorSemantics()) {
    os << "expects memref operands; bufferize the op before lowering it to "
          "GPU code";
    return fail();
  }
  if (op->getParentOfType<gpu::LaunchOp>() ||
      op->getParentOfType<gpu::GPUFuncOp>() ||
      op->getParentOfType<gpu::GPUModuleOp>()) {
    os << "is already in GPU code; only host code can launch a kernel";
    return fail();
  }

  if (Value scale = op.getOutScale();
      scale && !isLowerableElementType(scale.getType())) {
    os << "expects an f16, bf16, f32 or f64 out_scale to lower it to GPU "
          "code, got '"
       << scale.getType() << "'";
    return fail();
  }

  int64_t axis = op.getNormalizedAxis();
  for (const NamedOperand &operand : getNamedOperands(op)) {
    if (!operand.value)
      continue;
    auto type = cast<MemRefType>(operand.value.getType());
    bool isQuantizedOutput =
        operand.value == op.getOutput() && op.hasQuantizedOutput();
    if (!isLowerableElementType(type.getElementType(), isQuantizedOutput)) {
      os << "expects f16, bf16, f32 or f64 elements in the " << operand.name;
      if (operand.value == op.getOutput())
        os << " (or i8 or f8E4M3FN with an out_scale)";
      os << " to lower it to GPU code, got '" << type.getElementType() << "'";
      return fail();
    }
    if (!isGlobalMemorySpace(type)) {
      os << "expects the " << operand.name
         << " in global memory, got memory space " << type.getMemorySpace();
      return fail();
    }
    if (failed(getViewType(type, operand.kind, axis))) {
      os << "expects the " << operand.name
         << " to be contiguous within its row dimensions and within its "
            "normalised dimensions, got '"
         << type << "'";
      return fail();
    }
  }
  return success();
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
    return operands;
  }
  Value n = memref::DimOp::create(b, loc, operands.input, 1);
  operands.rowSize = createRowSizeFromIndex(b, loc, computeType, n);
  operands.invSqrtN = createInvSqrtRowSize(b, loc, operands.rowSize);
  return operands;
}

LogicalResult
mlir::norm::lowerNormOpToGPULaunch(RewriterBase &rewriter, NormOpInterface op,
                                   const ConvertNormToGPUOptions &options) {
  Location loc = op->getLoc();
  int64_t axis = op.getNormalizedAxis();
  Type inputType = op.getInputType().getElementType();
  Type computeType = getComputeElementType(inputType);

  // Views of everything accessed V elements at a time decide V.
  SmallVector<MemRefType> vectorViews;
  for (const NamedOperand &operand : getNamedOperands(op)) {
    if (!operand.value || operand.kind == ViewKind::Rows)
      continue;
    FailureOr<MemRefType> view = getViewType(
        cast<MemRefType>(operand.value.getType()), operand.kind, axis);
    if (failed(view))
      return rewriter.notifyMatchFailure(op, "operand layout not collapsible");
    vectorViews.push_back(*view);
  }
  KernelPlan plan = planKernel(op, vectorViews, options);

  rewriter.setInsertionPoint(op);
  KernelOperands operands = createKernelOperands(rewriter, op);
  auto inputView = cast<MemRefType>(operands.input.getType());

  // One block per R rows; nothing to launch for zero rows.
  int64_t numRows = inputView.getDimSize(0);
  if (numRows == 0) {
    rewriter.eraseOp(op);
    return success();
  }
  Value rowCount;
  if (ShapedType::isDynamic(numRows))
    rowCount = memref::DimOp::create(rewriter, loc, operands.input, 0);
  else
    rowCount = arith::ConstantIndexOp::create(rewriter, loc, numRows);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value gridSize = rowCount;
  if (plan.rowsPerBlock > 1)
    gridSize = rewriter.createOrFold<arith::CeilDivUIOp>(
        loc, rowCount,
        arith::ConstantIndexOp::create(rewriter, loc, plan.rowsPerBlock));
  Value blockSize =
      arith::ConstantIndexOp::create(rewriter, loc, plan.getBlockSize());

  OpBuilder::InsertionGuard guard(rewriter);
  if (ShapedType::isDynamic(numRows)) {
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value hasRows = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ugt, rowCount, zero);
    auto ifOp = scf::IfOp::create(rewriter, loc, hasRows,
                                  /*withElseRegion=*/false);
    rewriter.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  }

  SmallVector<Type> workgroupBuffers;
  if (plan.getWarpsPerRow() > 1) {
    // One exchange region for RMSNorm, two (the sum, then the sum of
    // squares) for LayerNorm.
    int64_t fields = (op.isLayerNorm() ? 2 : 1) * kSharedFields;
    auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                                gpu::AddressSpace::Workgroup);
    workgroupBuffers.push_back(
        MemRefType::get({plan.rowsPerBlock * plan.getWarpsPerRow() * fields},
                        computeType, MemRefLayoutAttrInterface(), workgroup));
  }
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, gridSize, one, one, blockSize, one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange(), workgroupBuffers);
  Block &body = launch.getBody().front();
  if (body.empty() || !body.back().hasTrait<OpTrait::IsTerminator>()) {
    rewriter.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(rewriter, loc);
  }
  rewriter.setInsertionPoint(body.getTerminator());
  emitNormKernel(rewriter, loc, op, plan, operands, launch);

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
    SmallVector<NormOpInterface> normOps;
    getOperation()->walk([&](NormOpInterface op) { normOps.push_back(op); });
    bool anyRefused = false;
    for (NormOpInterface op : normOps) {
      if (succeeded(checkNormOpLowerableToGPU(op, &whyNot)))
        continue;
      op->emitOpError() << whyNot;
      anyRefused = true;
    }
    getOperation()->walk([&](NormGradOpInterface op) {
      op->emitOpError("has no GPU lowering yet: the gradient ops lower to "
                      "CPU code (--norm-cpu-pipeline) and to linalg "
                      "(--convert-norm-to-linalg)");
      anyRefused = true;
    });
    if (anyRefused)
      return signalPassFailure();

    IRRewriter rewriter(&getContext());
    for (NormOpInterface op : normOps) {
      if (succeeded(lowerNormOpToGPULaunch(rewriter, op, options)))
        continue;
      op->emitOpError("could not be lowered to a GPU kernel");
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
  patterns.add<NormOpToGPULaunch>(patterns.getContext(), options);
}
