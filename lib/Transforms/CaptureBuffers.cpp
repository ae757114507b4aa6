//===- CaptureBuffers.cpp - What memref chains read and write -------------===//
//
// Buffers for the capture: the facts (last writer, aliasing, writes between
// a read and the norm op) and the translation of a buffer's content into
// the expression view. Conservative throughout: a buffer is either a
// function argument or a local allocation, used whole (no views); an op
// whose effects are unknown may write anything; two function arguments may
// be the same memory unless one is marked `llvm.noalias`.
//
//===----------------------------------------------------------------------===//

#include "CaptureBuffers.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::norm::capture;

//===----------------------------------------------------------------------===//
// Facts about buffers
//===----------------------------------------------------------------------===//

Value mlir::norm::capture::getUnderlyingBuffer(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewLikeOpInterface>())
    buffer = view.getViewSource();
  return buffer;
}

bool mlir::norm::capture::isLocalAllocation(Value buffer) {
  Operation *def = buffer.getDefiningOp();
  return def && hasSingleEffect<MemoryEffects::Allocate>(def, buffer);
}

/// Whether `buffer` is an argument of the entry block of a function.
static bool isFunctionArgument(Value buffer) {
  auto arg = dyn_cast<BlockArgument>(buffer);
  return arg && arg.getOwner()->isEntryBlock() &&
         isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
}

/// Whether `buffer` is a function argument marked `llvm.noalias`: memory no
/// other argument refers to.
static bool isNoAliasArgument(Value buffer) {
  if (!isFunctionArgument(buffer))
    return false;
  auto arg = cast<BlockArgument>(buffer);
  auto func = cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  return static_cast<bool>(func.getArgAttr(arg.getArgNumber(), "llvm.noalias"));
}

bool mlir::norm::capture::mayAlias(Value a, Value b) {
  Value rootA = getUnderlyingBuffer(a);
  Value rootB = getUnderlyingBuffer(b);
  if (rootA == rootB)
    return true;
  return !isLocalAllocation(rootA) && !isLocalAllocation(rootB) &&
         !isNoAliasArgument(rootA) && !isNoAliasArgument(rootB);
}

bool mlir::norm::capture::mayWrite(Operation *op, Value buffer) {
  if (isMemoryEffectFree(op))
    return false;
  std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
      getEffectsRecursively(op);
  if (!effects)
    return true;
  return llvm::any_of(*effects, [&](const MemoryEffects::EffectInstance &e) {
    if (!isa<MemoryEffects::Write, MemoryEffects::Free>(e.getEffect()))
      return false;
    Value written = e.getValue();
    return !written || mayAlias(written, buffer);
  });
}

Operation *mlir::norm::capture::findLastWriter(Value buffer,
                                               Operation *reader) {
  for (Operation *op = reader->getPrevNode(); op; op = op->getPrevNode())
    if (mayWrite(op, buffer))
      return op;
  return nullptr;
}

bool mlir::norm::capture::isWrittenBetween(Value buffer, Operation *from,
                                           Operation *to) {
  if (from->getBlock() != to->getBlock())
    return true;
  for (Operation *op = from->getNextNode(); op != to; op = op->getNextNode()) {
    if (!op)
      return true;
    if (mayWrite(op, buffer))
      return true;
  }
  return false;
}

LogicalResult
mlir::norm::capture::checkBufferReads(const ExprTranslator &translator,
                                      ArrayRef<Value> operands,
                                      Operation *root) {
  for (const BufferRead &read : translator.getBufferReads()) {
    if (!read.opaque && !llvm::is_contained(operands, read.buffer))
      continue;
    if (read.reader != root &&
        (read.reader->getBlock() != root->getBlock() ||
         !read.reader->isBeforeInBlock(root) ||
         isWrittenBetween(read.buffer, read.reader, root)))
      return failure();
  }
  return success();
}

void mlir::norm::capture::eraseDeadBufferChain(RewriterBase &rewriter,
                                               ArrayRef<Operation *> chain) {
  // Writers whose every written buffer is a local allocation that nothing
  // but deallocations and other such writers uses (a fixed point: a writer
  // kept keeps the buffers it writes in use).
  llvm::SetVector<Operation *> removable;
  for (Operation *op : chain) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (linalgOp && linalgOp.hasPureBufferSemantics())
      removable.insert(op);
  }
  auto isDead = [&](Value buffer) {
    if (!isLocalAllocation(buffer))
      return false;
    return llvm::all_of(buffer.getUsers(), [&](Operation *user) {
      return isa<memref::DeallocOp>(user) || removable.contains(user);
    });
  };
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : llvm::to_vector(removable)) {
      auto linalgOp = cast<linalg::LinalgOp>(op);
      if (llvm::all_of(linalgOp.getDpsInits(), isDead))
        continue;
      removable.remove(op);
      changed = true;
    }
  }
  llvm::SetVector<Value> buffers;
  for (Operation *op : removable)
    for (Value init : cast<linalg::LinalgOp>(op).getDpsInits())
      buffers.insert(init);
  for (Operation *op : llvm::reverse(removable))
    rewriter.eraseOp(op);
  // The allocations themselves go with their deallocations; the pass's dead
  // code eraser then takes the allocations.
  for (Value buffer : buffers) {
    if (!llvm::all_of(buffer.getUsers(), llvm::IsaPred<memref::DeallocOp>))
      continue;
    for (Operation *dealloc : llvm::to_vector(buffer.getUsers()))
      rewriter.eraseOp(dealloc);
  }
}

//===----------------------------------------------------------------------===//
// Buffer contents in the expression view
//===----------------------------------------------------------------------===//

Expr *ExprTranslator::translateOperand(Value value, AffineMap map,
                                       Operation *reader) {
  if (isa<MemRefType>(value.getType()))
    return translateBuffer(value, map, reader);
  return translate(value, map);
}

Expr *ExprTranslator::translateBuffer(Value buffer, AffineMap map,
                                      Operation *reader) {
  auto type = cast<MemRefType>(buffer.getType());
  map = canonicalizeUnitDims(map, type);
  bufferReads.push_back({buffer, reader, /*opaque=*/true});
  auto opaque = [&]() {
    Expr *expr = makeLoad(buffer, map);
    noteWholeRead(buffer, map, expr);
    return expr;
  };

  // Whole buffers of known origin only, read where they were written.
  bool known = getUnderlyingBuffer(buffer) == buffer &&
               (isLocalAllocation(buffer) || isFunctionArgument(buffer)) &&
               isa<FloatType>(type.getElementType());
  Operation *writer = known ? findLastWriter(buffer, reader) : nullptr;
  auto linalgWriter = dyn_cast_or_null<linalg::LinalgOp>(writer);
  std::optional<unsigned> init;
  if (linalgWriter && linalgWriter.hasPureBufferSemantics()) {
    for (auto [index, value] : llvm::enumerate(linalgWriter.getDpsInits()))
      if (value == buffer)
        init = index;
  }
  if (!known || (writer && !init) || (!writer && isLocalAllocation(buffer))) {
    // A view, an unknown origin or writer, or an allocation read before it
    // is written.
    poisoned = true;
    return opaque();
  }
  if (!writer)
    return opaque();

  auto key = std::make_tuple(writer, *init, map);
  Expr *expr = nullptr;
  auto it = writeMemo.find(key);
  if (lookupMemo(it == writeMemo.end() ? nullptr : &it->second, expr)) {
    bufferReads.back().opaque = expr->is(ExprKind::Load);
    return expr;
  }
  unsigned startDepth = depth;
  unsigned startCutoffs = cutoffs;
  if (enter()) {
    expr = translateWrite(writer, *init, map);
    --depth;
  }
  if (expr) {
    bufferReads.back().opaque = false;
    noteWholeRead(buffer, map, expr);
  } else {
    expr = opaque();
  }
  writeMemo[key] = {expr, startDepth, cutoffs != startCutoffs};
  return expr;
}

Expr *ExprTranslator::translateWrite(Operation *writer, unsigned init,
                                     AffineMap map) {
  auto linalgOp = cast<linalg::LinalgOp>(writer);
  // In place, an op may read a buffer it writes only at the indices it
  // writes them (each element read before it is written), and write each
  // buffer once.
  for (OpOperand &out : linalgOp.getDpsInitsMutable()) {
    AffineMap outMap = linalgOp.getMatchingIndexingMap(&out);
    for (OpOperand &other : writer->getOpOperands()) {
      if (&other == &out || other.get() != out.get())
        continue;
      if (linalgOp.isDpsInit(&other) ||
          linalgOp.getMatchingIndexingMap(&other) != outMap) {
        poisoned = true;
        return nullptr;
      }
    }
  }
  Expr *expr = translateLinalg(writer, init, map);
  if (expr) {
    visitedOps.insert(writer);
    noteOrigin(expr, writer);
  }
  return expr;
}
