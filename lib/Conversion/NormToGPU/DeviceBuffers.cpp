//===- DeviceBuffers.cpp - Host buffers of kernel launchers to GPU memory -===//

#include "norm/Conversion/NormToGPU/NormToGPU.h"
#include "norm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMGPUDEVICEBUFFERS
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

namespace {
struct NormGPUDeviceBuffersPass
    : public norm::impl::NormGPUDeviceBuffersBase<NormGPUDeviceBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Linalg ops left in host code (any but norm ops, which have become
    // kernels) have no lowering in the GPU pipeline: left alone, the LLVM
    // conversions would rewrite their bodies into IR that does not verify.
    bool hostLinalg = false;
    func.walk([&](Operation *op) {
      if (op->getName().getDialectNamespace() != "linalg" ||
          op->getParentOfType<gpu::LaunchOp>() ||
          op->getParentOp()->getName().getDialectNamespace() == "linalg")
        return;
      op->emitOpError("would stay in host code: the GPU pipeline lowers norm "
                      "ops to kernels and has no lowering for other linalg "
                      "ops (lower them to the gpu dialect first)");
      hostLinalg = true;
    });
    if (hostLinalg)
      return signalPassFailure();

    bool launches = false;
    func.walk([&](Operation *op) {
      // A call to a kernel --norm-outline-kernels made launches one.
      if (isa<gpu::LaunchOp, gpu::LaunchFuncOp>(op) ||
          op->hasAttr(kKernelCallAttrName))
        launches = true;
    });
    if (!launches)
      return;

    // Check everything first, so that a refused function is left as it was.
    bool refused = false;
    func.walk([&](Operation *op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        return;
      if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        global.emitOpError(
            "is host memory in a function that launches GPU kernels; pass "
            "the constant as an argument instead");
        refused = true;
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        auto source = cast<MemRefType>(copy.getSource().getType());
        auto target = cast<MemRefType>(copy.getTarget().getType());
        if (!source.getLayout().isIdentity() ||
            !target.getLayout().isIdentity()) {
          copy.emitOpError("copies between non-contiguous buffers in a "
                           "function that launches GPU kernels, which "
                           "gpu.memcpy cannot do");
          refused = true;
        }
      }
    });
    if (refused)
      return signalPassFailure();

    IRRewriter rewriter(&getContext());
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (!op->getParentOfType<gpu::LaunchOp>() &&
          isa<memref::AllocOp, memref::DeallocOp, memref::CopyOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        if (alloc.getType().getMemorySpace())
          continue;
        auto deviceAlloc = gpu::AllocOp::create(
            rewriter, loc, alloc.getType(), /*asyncToken=*/Type(),
            /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), /*hostShared=*/false);
        rewriter.replaceOp(alloc, deviceAlloc.getMemref());
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(rewriter, loc, /*asyncToken=*/Type(),
                               /*asyncDependencies=*/ValueRange(),
                               dealloc.getMemref());
        rewriter.eraseOp(dealloc);
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        gpu::MemcpyOp::create(rewriter, loc, /*asyncToken=*/Type(),
                              /*asyncDependencies=*/ValueRange(),
                              copy.getTarget(), copy.getSource());
        rewriter.eraseOp(copy);
      }
    }
  }
};
} // namespace
