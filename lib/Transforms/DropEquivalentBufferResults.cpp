//===- DropEquivalentBufferResults.cpp - Results written into arguments ---===//
//
// Drops the memref results of functions that are (casts of) their own
// arguments, public functions included, and rewrites the calls in the
// module accordingly.
//
//===----------------------------------------------------------------------===//

#include "norm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/BitVector.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMDROPEQUIVALENTBUFFERRESULTS
#include "norm/Transforms/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;

/// The argument `value` is, looking through `memref.cast`s, if any.
static BlockArgument getArgument(func::FuncOp func, Value value) {
  while (auto cast = value.getDefiningOp<memref::CastOp>())
    value = cast.getSource();
  auto arg = dyn_cast<BlockArgument>(value);
  if (!arg || arg.getOwner() != &func.getBody().front())
    return {};
  return arg;
}

/// Drops the results of `func` that are its arguments; returns, for each
/// original result, the argument number it was (or -1 if kept).
static SmallVector<int64_t> dropArgumentResults(func::FuncOp func) {
  SmallVector<int64_t> resultToArg(func.getNumResults(), -1);
  func::ReturnOp returnOp;
  for (Block &block : func.getBody()) {
    auto candidate = dyn_cast<func::ReturnOp>(block.getTerminator());
    if (!candidate)
      continue;
    if (returnOp)
      return resultToArg; // several returns: left alone
    returnOp = candidate;
  }
  if (!returnOp)
    return resultToArg;

  llvm::BitVector erased(func.getNumResults());
  SmallVector<Value> kept;
  for (auto [index, value] : llvm::enumerate(returnOp.getOperands())) {
    BlockArgument arg;
    if (isa<BaseMemRefType>(value.getType()))
      arg = getArgument(func, value);
    if (!arg) {
      kept.push_back(value);
      continue;
    }
    erased.set(index);
    resultToArg[index] = arg.getArgNumber();
  }
  if (erased.none() || failed(func.eraseResults(erased)))
    return SmallVector<int64_t>(func.getNumResults(), -1);
  returnOp.getOperandsMutable().assign(kept);
  return resultToArg;
}

namespace {
struct NormDropEquivalentBufferResultsPass
    : public norm::impl::NormDropEquivalentBufferResultsBase<
          NormDropEquivalentBufferResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    DenseMap<Operation *, SmallVector<func::CallOp>> calls;
    module.walk([&](func::CallOp call) {
      if (auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr()))
        calls[callee].push_back(call);
    });

    IRRewriter rewriter(&getContext());
    for (func::FuncOp func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<int64_t> resultToArg = dropArgumentResults(func);
      if (llvm::all_of(resultToArg, [](int64_t arg) { return arg < 0; }))
        continue;
      for (func::CallOp call : calls[func]) {
        rewriter.setInsertionPoint(call);
        auto newCall = func::CallOp::create(rewriter, call.getLoc(), func,
                                            call.getOperands());
        SmallVector<Value> replacements;
        unsigned next = 0;
        for (auto [index, arg] : llvm::enumerate(resultToArg)) {
          if (arg < 0) {
            replacements.push_back(newCall.getResult(next++));
            continue;
          }
          Value operand = call.getOperand(arg);
          Type type = call.getResult(index).getType();
          if (operand.getType() != type)
            operand =
                memref::CastOp::create(rewriter, call.getLoc(), type, operand);
          replacements.push_back(operand);
        }
        rewriter.replaceOp(call, replacements);
      }
    }
  }
};
} // namespace
