//===- CaptureBuffers.h - What memref chains read and write ------*- C++
//-*-===//
//
// Capture on linalg ops on memrefs (as memref-level front ends emit norms:
// `memref.alloc` for the statistics, generics writing them in place) rests
// on facts about buffers that value semantics gives for free: which op last
// wrote what a chain op reads, whether two buffers may be the same memory,
// whether anything writes a buffer between a read and the point where the
// norm op will read it. This file states those facts, conservatively.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_TRANSFORMS_CAPTUREBUFFERS_H
#define NORM_LIB_TRANSFORMS_CAPTUREBUFFERS_H

#include "CaptureExpr.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace norm {
namespace capture {

/// `buffer` with view-like ops (subviews, casts, reshapes) looked through.
Value getUnderlyingBuffer(Value buffer);

/// Whether `buffer` is an allocation made in the function (memref.alloc or
/// alloca): memory no other value refers to unless derived from it.
bool isLocalAllocation(Value buffer);

/// Whether the memrefs `a` and `b` may share memory: the same allocation,
/// or two whose origin is neither a local allocation nor a function
/// argument marked `llvm.noalias` (other arguments may be passed the same
/// buffer).
bool mayAlias(Value a, Value b);

/// Whether `op` may write memory `buffer` may alias (true when its effects
/// are unknown).
bool mayWrite(Operation *op, Value buffer);

/// The last op before `reader`, in its block, that may write `buffer`; null
/// if none does.
Operation *findLastWriter(Value buffer, Operation *reader);

/// Whether an op strictly between `from` and `to` (both in one block, `from`
/// first) may write `buffer`.
bool isWrittenBetween(Value buffer, Operation *from, Operation *to);

/// Proves that every buffer the norm op at `root` will read (`operands`)
/// holds there what the chain read of it, and that no chain read left opaque
/// (a `Load` of a buffer) could have changed by then.
LogicalResult checkBufferReads(const ExprTranslator &translator,
                               ArrayRef<Value> operands, Operation *root);

/// Erases the ops of a captured chain on buffers that only wrote local
/// allocations nothing else reads, then those allocations (and their
/// deallocations).
void eraseDeadBufferChain(RewriterBase &rewriter, ArrayRef<Operation *> chain);

} // namespace capture
} // namespace norm
} // namespace mlir

#endif // NORM_LIB_TRANSFORMS_CAPTUREBUFFERS_H
