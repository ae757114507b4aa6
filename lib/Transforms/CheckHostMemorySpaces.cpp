//===- CheckHostMemorySpaces.cpp - Memrefs host code can address ----------===//
//
// Reports memrefs in memory spaces the CPU lowering cannot map to an LLVM
// address space, at the location that carries them.
//
//===----------------------------------------------------------------------===//

#include "norm/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMCHECKHOSTMEMORYSPACES
#include "norm/Transforms/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;

/// The first memory space in `type` (or the types nested in it) that is
/// neither the default nor an integer (nor, with `allowGpu`, a GPU address
/// space), if any.
static Attribute findForeignMemorySpace(Type type, bool allowGpu) {
  Attribute found;
  type.walk([&](BaseMemRefType memref) {
    Attribute space = memref.getMemorySpace();
    if (found || !space || isa<IntegerAttr>(space) ||
        (allowGpu && isa<gpu::AddressSpaceAttr>(space)))
      return;
    found = space;
  });
  return found;
}

namespace {
struct CheckHostMemorySpacesPass
    : norm::impl::NormCheckHostMemorySpacesBase<CheckHostMemorySpacesPass> {
  using Base::Base;

  void runOnOperation() override {
    bool failed = false;
    // `what` is a Twine: the message is only built for a type reported.
    auto check = [&](Type type, Location loc, const Twine &what) {
      Attribute space = findForeignMemorySpace(type, allowGpuAddressSpaces);
      if (!space)
        return;
      emitError(loc) << what << " has type " << type
                     << ", in memory space " << space
                     << ", which host code cannot address (the default "
                        "memory space and integer address spaces are host "
                        "memory"
                     << (allowGpuAddressSpaces ? "; so are GPU address spaces"
                                               : "")
                     << ")";
      failed = true;
    };
    getOperation()->walk([&](Operation *op) {
      if (auto function = dyn_cast<FunctionOpInterface>(op)) {
        // Declarations have no block arguments to carry the types.
        if (function.isExternal())
          check(function.getFunctionType(), op->getLoc(), "the function");
        else
          for (Type type : function.getResultTypes())
            check(type, op->getLoc(), "a result of the function");
      }
      for (Region &region : op->getRegions())
        for (Block &block : region)
          for (BlockArgument arg : block.getArguments())
            check(arg.getType(), arg.getLoc(),
                  "argument #" + Twine(arg.getArgNumber()));
      for (OpResult result : op->getResults())
        check(result.getType(), op->getLoc(),
              "result #" + Twine(result.getResultNumber()) + " of '" +
                  op->getName().getStringRef() + "'");
    });
    if (failed)
      signalPassFailure();
  }
};
} // namespace
