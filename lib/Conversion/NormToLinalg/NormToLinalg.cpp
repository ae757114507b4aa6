//===- NormToLinalg.cpp - Lower norm ops to linalg.generic ----------------===//

#include "norm/Conversion/NormToLinalg/NormToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "norm/Dialect/Norm/IR/NormOps.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_CONVERTNORMTOLINALG
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

namespace {
/// Replaces a norm op by its `linalg.generic` decomposition.
struct DecomposeNormOp : public OpInterfaceRewritePattern<NormOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    FailureOr<SmallVector<Value>> replacements = decomposeToLinalg(rewriter, op);
    if (failed(replacements))
      return rewriter.notifyMatchFailure(op, "could not decompose");
    rewriter.replaceOp(op, *replacements);
    return success();
  }
};

/// Replaces a gradient op by its `linalg.generic` decomposition.
struct DecomposeNormGradOp
    : public OpInterfaceRewritePattern<NormGradOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(NormGradOpInterface op,
                                PatternRewriter &rewriter) const override {
    FailureOr<SmallVector<Value>> replacements =
        decomposeGradToLinalg(rewriter, op);
    if (failed(replacements))
      return rewriter.notifyMatchFailure(op, "could not decompose");
    rewriter.replaceOp(op, *replacements);
    return success();
  }
};

struct ConvertNormToLinalgPass
    : public norm::impl::ConvertNormToLinalgBase<ConvertNormToLinalgPass> {
  void runOnOperation() override {
    // Decomposition creates no norm ops, so one walk over the existing ones
    // suffices; a walk (rather than the greedy driver) leaves the rest of
    // the IR exactly as it was.
    SmallVector<Operation *> normOps;
    getOperation()->walk([&](Operation *op) {
      if (isa<NormOpInterface, NormGradOpInterface>(op))
        normOps.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : normOps) {
      rewriter.setInsertionPoint(op);
      FailureOr<SmallVector<Value>> replacements =
          isa<NormGradOpInterface>(op)
              ? decomposeGradToLinalg(rewriter, cast<NormGradOpInterface>(op))
              : decomposeToLinalg(rewriter, cast<NormOpInterface>(op));
      if (failed(replacements)) {
        op->emitOpError("could not be lowered to linalg");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, *replacements);
    }
  }
};
} // namespace

void mlir::norm::populateNormToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeNormOp, DecomposeNormGradOp>(patterns.getContext());
}
