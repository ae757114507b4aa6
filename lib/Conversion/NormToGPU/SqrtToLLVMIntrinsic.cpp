//===- SqrtToLLVMIntrinsic.cpp - math.sqrt to llvm.sqrt in GPU code -------===//
//
// Also math.roundeven (the i8 quantisation's rounding) to llvm.roundeven,
// math.absf (dynamic quantisation's amax) to llvm.fabs and math.fma to
// llvm.fma: convert-gpu-to-nvvm would make each a libdevice call. An f32
// math.rsqrt with `afn` (RsqrtKind::Approximate) becomes
// llvm.nvvm.rsqrt.approx.f, NVPTX's rsqrt.approx.f32.
//
//===----------------------------------------------------------------------===//

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

static bool isScalarF32OrF64(Type type) { return type.isF32() || type.isF64(); }

/// A call of the intrinsic `llvm.<name>.f32` or `.f64` on `values`.
static Value createIntrinsic(PatternRewriter &rewriter, Location loc,
                             StringRef name, ValueRange values) {
  Type type = values.front().getType();
  std::string intrinsic =
      ("llvm." + name + (type.isF64() ? ".f64" : ".f32")).str();
  return LLVM::CallIntrinsicOp::create(
             rewriter, loc, type, rewriter.getStringAttr(intrinsic), values)
      .getResult(0);
}

static Value createUnaryIntrinsic(PatternRewriter &rewriter, Location loc,
                                  StringRef name, Value value) {
  return createIntrinsic(rewriter, loc, name, value);
}

namespace {
/// math.sqrt x -> llvm.sqrt(x).
struct SqrtToIntrinsic : public OpRewritePattern<math::SqrtOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::SqrtOp op,
                                PatternRewriter &rewriter) const override {
    if (!isScalarF32OrF64(op.getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar f32 or f64");
    rewriter.replaceOp(op, createUnaryIntrinsic(rewriter, op.getLoc(), "sqrt",
                                                op.getOperand()));
    return success();
  }
};

/// math.rsqrt x -> 1 / llvm.sqrt(x); with `afn` in f32,
/// llvm.nvvm.rsqrt.approx.f(x).
struct RsqrtToIntrinsic : public OpRewritePattern<math::RsqrtOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::RsqrtOp op,
                                PatternRewriter &rewriter) const override {
    if (!isScalarF32OrF64(op.getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar f32 or f64");
    Location loc = op.getLoc();
    if (op.getType().isF32() &&
        arith::bitEnumContainsAll(op.getFastmath(),
                                  arith::FastMathFlags::afn)) {
      rewriter.replaceOp(op,
                         LLVM::CallIntrinsicOp::create(
                             rewriter, loc, op.getType(),
                             rewriter.getStringAttr("llvm.nvvm.rsqrt.approx.f"),
                             op.getOperand())
                             .getResult(0));
      return success();
    }
    Value one = arith::ConstantOp::create(
        rewriter, loc, rewriter.getFloatAttr(op.getType(), 1.0));
    Value root = createUnaryIntrinsic(rewriter, loc, "sqrt", op.getOperand());
    rewriter.replaceOpWithNewOp<arith::DivFOp>(op, one, root);
    return success();
  }
};

/// math.roundeven x -> llvm.roundeven(x) (cvt.rni on NVPTX).
struct RoundEvenToIntrinsic : public OpRewritePattern<math::RoundEvenOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::RoundEvenOp op,
                                PatternRewriter &rewriter) const override {
    if (!isScalarF32OrF64(op.getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar f32 or f64");
    rewriter.replaceOp(op, createUnaryIntrinsic(rewriter, op.getLoc(),
                                                "roundeven", op.getOperand()));
    return success();
  }
};

/// math.absf x -> llvm.fabs(x) (abs.f32 on NVPTX).
struct AbsFToIntrinsic : public OpRewritePattern<math::AbsFOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::AbsFOp op,
                                PatternRewriter &rewriter) const override {
    if (!isScalarF32OrF64(op.getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar f32 or f64");
    rewriter.replaceOp(op, createUnaryIntrinsic(rewriter, op.getLoc(), "fabs",
                                                op.getOperand()));
    return success();
  }
};

/// math.fma a, b, c -> llvm.fma(a, b, c) (fma.rn on NVPTX).
struct FmaToIntrinsic : public OpRewritePattern<math::FmaOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::FmaOp op,
                                PatternRewriter &rewriter) const override {
    if (!isScalarF32OrF64(op.getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar f32 or f64");
    rewriter.replaceOp(
        op, createIntrinsic(rewriter, op.getLoc(), "fma", op->getOperands()));
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
  patterns.add<SqrtToIntrinsic, RsqrtToIntrinsic, RoundEvenToIntrinsic,
               AbsFToIntrinsic, FmaToIntrinsic>(patterns.getContext());
}
