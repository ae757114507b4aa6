//===- CallerStreams.cpp - Launch on the caller's CUDA stream -------------===//
//
// A function that takes a `!gpu.async.token` argument gets its caller's
// stream through it: its GPU operations go on that stream asynchronously
// and nothing in the call creates, synchronises or destroys a stream. The
// other functions keep upstream's gpu-async-region (a stream per call,
// synchronised before returning).
//
//===----------------------------------------------------------------------===//

#include "norm/Conversion/NormToGPU/NormToGPU.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMGPUCALLERSTREAMS
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

/// Host-side GPU work a stream orders: launches, allocations, copies. Not
/// gpu.wait, which is the synchronisation itself (left as written).
static bool isStreamWork(Operation *op) {
  return isa<gpu::AsyncOpInterface>(op) && !isa<gpu::WaitOp>(op) &&
         !op->getParentOfType<gpu::GPUModuleOp>() &&
         !op->getParentOfType<gpu::LaunchOp>();
}

/// `op` (synchronous) made asynchronous on `stream`: the same op with
/// `stream` as its one dependency and a token result, which lowers to no
/// wait. Fails, creating nothing, for an op with regions.
static LogicalResult makeAsyncOnStream(Operation *op, Value stream) {
  if (op->getNumRegions())
    return op->emitOpError("has regions: cannot be put on the caller's stream");
  cast<gpu::AsyncOpInterface>(op).addAsyncDependency(stream);
  SmallVector<Type> types(op->getResultTypes());
  types.push_back(gpu::AsyncTokenType::get(op->getContext()));
  OpBuilder b(op);
  Operation *async = Operation::create(
      op->getLoc(), op->getName(), types, op->getOperands(),
      op->getDiscardableAttrDictionary(), op->getPropertiesStorage(),
      op->getSuccessors(), /*numRegions=*/0);
  b.insert(async);
  op->replaceAllUsesWith(async->getResults().drop_back());
  op->erase();
  return success();
}

/// Callee -> its copy taking the stream as a trailing argument.
using StreamCopies = DenseMap<Operation *, func::FuncOp>;

namespace {
struct NormGPUCallerStreamsPass
    : public norm::impl::NormGPUCallerStreamsBase<NormGPUCallerStreamsPass> {
  void runOnOperation() override;

private:
  /// Puts the GPU work of `func` on `stream`; calls to functions in
  /// `launching` go to their copies on a stream (made, recorded in
  /// `onStream` and queued in `worklist` on first use).
  LogicalResult threadStream(func::FuncOp func, Value stream,
                             const DenseSet<Operation *> &launching,
                             SymbolTable &symbols, StreamCopies &onStream,
                             SmallVectorImpl<func::FuncOp> &worklist);
};
} // namespace

/// The stream argument of `func` (null when it has none); fails, with a
/// diagnostic, when it has several.
static FailureOr<Value> getStream(func::FuncOp func) {
  Value stream;
  for (BlockArgument arg : func.getArguments()) {
    if (!isa<gpu::AsyncTokenType>(arg.getType()))
      continue;
    if (stream)
      return func.emitOpError("takes more than one !gpu.async.token argument; "
                              "expected at most one, the caller's stream");
    stream = arg;
  }
  return stream;
}

LogicalResult NormGPUCallerStreamsPass::threadStream(
    func::FuncOp func, Value stream, const DenseSet<Operation *> &launching,
    SymbolTable &symbols, StreamCopies &onStream,
    SmallVectorImpl<func::FuncOp> &worklist) {
  SmallVector<Operation *> work;
  SmallVector<func::CallOp> calls;
  func.walk([&](Operation *op) {
    if (isStreamWork(op))
      work.push_back(op);
    else if (auto call = dyn_cast<func::CallOp>(op))
      calls.push_back(call);
  });
  for (Operation *op : work) {
    auto async = cast<gpu::AsyncOpInterface>(op);
    if (!async.getAsyncDependencies().empty())
      return op->emitOpError("already has async dependencies: a function "
                             "taking the caller's stream orders its GPU work "
                             "on that stream alone");
    if (async.getAsyncToken()) {
      // Asynchronous with no dependency: it would make a stream of its own.
      async.addAsyncDependency(stream);
      continue;
    }
    if (failed(makeAsyncOnStream(op, stream)))
      return failure();
  }
  for (func::CallOp call : calls) {
    auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
    if (!callee || !launching.contains(callee))
      continue;
    FailureOr<Value> calleeStream = getStream(callee);
    if (failed(calleeStream))
      return failure();
    if (*calleeStream)
      continue; // The caller passes it what it likes.
    func::FuncOp &copy = onStream[callee];
    if (!copy) {
      copy = callee.clone();
      copy.setPrivate();
      Type token = gpu::AsyncTokenType::get(&getContext());
      if (failed(copy.insertArgument(copy.getNumArguments(), token,
                                     /*argAttrs=*/{}, callee.getLoc())))
        return failure();
      copy.setName((callee.getName() + "_on_stream").str());
      symbols.insert(copy, std::next(callee->getIterator()));
      worklist.push_back(copy);
    }
    call.setCallee(copy.getName());
    call.getOperandsMutable().append(stream);
  }
  return success();
}

void NormGPUCallerStreamsPass::runOnOperation() {
  ModuleOp module = getOperation();
  SymbolTable symbols(module);
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());

  // Functions doing GPU work, themselves or through the functions they call.
  DenseSet<Operation *> launching;
  for (func::FuncOp func : funcs)
    if (!func.isExternal() && func.walk([](Operation *op) {
                                    return isStreamWork(op)
                                               ? WalkResult::interrupt()
                                               : WalkResult::advance();
                                  })
                                  .wasInterrupted())
      launching.insert(func);
  for (bool grew = true; grew;) {
    grew = false;
    for (func::FuncOp func : funcs) {
      if (func.isExternal() || launching.contains(func))
        continue;
      WalkResult calls = func.walk([&](func::CallOp call) {
        auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
        return callee && launching.contains(callee) ? WalkResult::interrupt()
                                                    : WalkResult::advance();
      });
      if (calls.wasInterrupted()) {
        launching.insert(func);
        grew = true;
      }
    }
  }

  SmallVector<func::FuncOp> worklist;
  StreamCopies onStream;
  DenseSet<Operation *> done;
  for (func::FuncOp func : funcs) {
    FailureOr<Value> stream = getStream(func);
    if (failed(stream))
      return signalPassFailure();
    if (*stream && !func.isExternal())
      worklist.push_back(func);
  }
  while (!worklist.empty()) {
    func::FuncOp func = worklist.pop_back_val();
    if (!done.insert(func).second)
      continue;
    Value stream = *getStream(func);
    if (failed(threadStream(func, stream, launching, symbols, onStream,
                            worklist)))
      return signalPassFailure();
  }

  // Callees every caller of which now calls their copy.
  for (auto [callee, copy] : onStream) {
    auto func = cast<func::FuncOp>(callee);
    if (func.isPrivate() && SymbolTable::symbolKnownUseEmpty(func, module)) {
      symbols.erase(func);
      llvm::erase(funcs, func);
    }
  }

  // The rest: a stream per call, synchronised before returning.
  OpPassManager perCall(func::FuncOp::getOperationName());
  perCall.addPass(createGpuAsyncRegionPass());
  for (func::FuncOp func : funcs)
    if (!done.contains(func) && launching.contains(func) &&
        failed(runPipeline(perCall, func)))
      return signalPassFailure();
}
