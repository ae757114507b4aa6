//===- SqrtToLLVMIntrinsic.cpp - math.sqrt to llvm.sqrt in GPU code -------===//

#include "norm/Conversion/NormToGPU/NormToGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMGPUSQRTTOLLVM
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

/// A call of `llvm.sqrt` on `value` (f32 or f64).
static Value createSqrtIntrinsic(PatternRewriter &rewriter, Location loc,
                                 Value value) {
  StringRef name = value.getType().isF64() ? "llvm.sqrt.f64" : "llvm.sqrt.f32";
  return LLVM::CallIntrinsicOp::create(rewriter, loc, value.getType(),
                                       rewriter.getStringAttr(name), value)
      .getResult(0);
}

static bool isScalarF32OrF64(Type type) { return type.isF32() || type.isF64(); }

namespace {
/// math.sqrt x -> llvm.sqrt(x).
struct SqrtToIntrinsic : public OpRewritePattern<math::SqrtOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::SqrtOp op,
                                PatternRewriter &rewriter) const override {
    if (!isScalarF32OrF64(op.getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar f32 or f64");
    rewriter.replaceOp(
        op, createSqrtIntrinsic(rewriter, op.getLoc(), op.getOperand()));
    return success();
  }
};

/// math.rsqrt x -> 1 / llvm.sqrt(x).
struct RsqrtToIntrinsic : public OpRewritePattern<math::RsqrtOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::RsqrtOp op,
                                PatternRewriter &rewriter) const override {
    if (!isScalarF32OrF64(op.getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar f32 or f64");
    Location loc = op.getLoc();
    Value one = arith::ConstantOp::create(
        rewriter, loc, rewriter.getFloatAttr(op.getType(), 1.0));
    Value root = createSqrtIntrinsic(rewriter, loc, op.getOperand());
    rewriter.replaceOpWithNewOp<arith::DivFOp>(op, one, root);
    return success();
  }
};

struct NormGPUSqrtToLLVMPass
    : public norm::impl::NormGPUSqrtToLLVMBase<NormGPUSqrtToLLVMPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSqrtToLLVMIntrinsicPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::norm::populateSqrtToLLVMIntrinsicPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SqrtToIntrinsic, RsqrtToIntrinsic>(patterns.getContext());
}
