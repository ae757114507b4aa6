//===- GradientLoops.cpp - Gradient ops on memrefs to affine loops --------===//
//
// The CPU lowering of norm.layer_norm_grad and norm.rms_norm_grad: their
// linalg decomposition (the reference schedule: row sums, row means, dx,
// then the column sums of dgamma and dbeta), each generic made affine
// loops in place. The sums run in the loops' order, so the same input
// gives the same bits on every run.
//
//===----------------------------------------------------------------------===//

#include "GradientLoops.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

using namespace mlir;
using namespace mlir::norm;

std::string mlir::norm::getUnsupportedGradTypeReason(NormGradOpInterface op) {
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<ShapedType>(operand.getType());
    if (!type || isLowerableElementType(type.getElementType()))
      continue;
    std::string reason;
    llvm::raw_string_ostream os(reason);
    os << "expects f16, bf16, f32 or f64 elements to lower it to CPU code, "
          "got '"
       << type.getElementType() << "'";
    return reason;
  }
  return "";
}

LogicalResult mlir::norm::lowerNormGradOpToAffine(RewriterBase &rewriter,
                                                  NormGradOpInterface op) {
  if (op.hasPureTensorSemantics())
    return failure();
  Block *block = op->getBlock();
  rewriter.setInsertionPoint(op);
  // The ops the decomposition creates lie between the op's predecessor and
  // the op itself.
  Operation *before = op->getPrevNode();
  if (failed(decomposeGradToLinalg(rewriter, op)))
    return failure();
  SmallVector<linalg::LinalgOp> linalgOps;
  for (Operation &created : llvm::make_range(
           before ? std::next(before->getIterator()) : block->begin(),
           op->getIterator()))
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(&created))
      linalgOps.push_back(linalgOp);
  for (linalg::LinalgOp linalgOp : linalgOps) {
    rewriter.setInsertionPoint(linalgOp);
    if (failed(linalg::linalgOpToAffineLoops(rewriter, linalgOp)))
      return failure();
    rewriter.eraseOp(linalgOp);
  }
  rewriter.eraseOp(op);
  return success();
}
