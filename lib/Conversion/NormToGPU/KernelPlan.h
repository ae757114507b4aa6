//===- KernelPlan.h - How a norm op maps onto a GPU launch ------*- C++ -*-===//
//
// The thread plan of the GPU kernels: the views that give every operand the
// shape rows x N (or N, or rows), the vector width their layouts allow, and
// how many threads share a row, how many rows a block holds and how many
// vectors a thread keeps in registers. docs/GPULowering.md says why.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_CONVERSION_NORMTOGPU_KERNELPLAN_H
#define NORM_LIB_CONVERSION_NORMTOGPU_KERNELPLAN_H

#include "norm/Conversion/NormToGPU/NormToGPU.h"
#include "norm/Dialect/Norm/IR/NormOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir {
namespace norm {

inline constexpr int64_t kWarpSize = 32;
inline constexpr int64_t kMaxBlockSize = 1024;
/// The widest load or store the kernels issue, in bytes.
inline constexpr int64_t kMaxAccessBytes = 16;
/// Workgroup memory words per warp in each exchange region.
inline constexpr int64_t kSharedFields = 3;

/// The size of an element of `type` in bytes.
inline int64_t getByteWidth(Type type) {
  return type.getIntOrFloatBitWidth() / 8;
}

/// How an operand is reshaped for the kernel.
enum class ViewKind {
  /// Input-shaped: rows x N.
  Matrix,
  /// Normalised-shaped (gamma, beta): N.
  Vector,
  /// Row-shaped (mean, rstd): M, or rank 0 when there are no row dims.
  Rows,
};

/// The type of the view of `kind` of an operand of `type` whose normalised
/// dims start at `axis`, or failure when its layout does not allow the
/// collapse.
FailureOr<MemRefType> getViewType(MemRefType type, ViewKind kind, int64_t axis);

/// Builds the view of `kind` of `value` (see getViewType).
Value createView(OpBuilder &b, Location loc, Value value, ViewKind kind,
                 int64_t axis);

/// An operand of the op with its role, for diagnostics and views.
struct NamedOperand {
  Value value;
  StringRef name;
  ViewKind kind;
};

/// The op's shaped operands, present or not, in a fixed order.
SmallVector<NamedOperand, 9> getNamedOperands(NormOpInterface op);
/// The gradient op's shaped operands, present or not, in a fixed order.
SmallVector<NamedOperand, 9> getNamedOperands(NormGradOpInterface op);

/// Whether `type`'s memory space is one the kernel can address as global
/// memory (none, or `#gpu.address_space<global>`).
bool isGlobalMemorySpace(MemRefType type);

/// How one norm op maps onto a launch: V elements per access, G threads per
/// row, R rows per block, and K vectors held by each thread (0: streamed).
struct KernelPlan {
  int64_t vectorWidth = 1;
  int64_t threadsPerRow = kWarpSize;
  int64_t rowsPerBlock = 1;
  int64_t slotsPerThread = 0;

  int64_t getBlockSize() const { return threadsPerRow * rowsPerBlock; }
  int64_t getWarpsPerRow() const {
    return std::max<int64_t>(1, threadsPerRow / kWarpSize);
  }
  bool holdsRowInRegisters() const { return slotsPerThread > 0; }
};

/// Whether G threads can share a row: the butterfly needs a power of two up
/// to a warp, or whole warps.
bool isValidThreadsPerRow(int64_t threads);

/// The plan for a kernel on rows of `inputType` elements that holds
/// `heldArrays` values per element in registers (1 for the forward ops, x
/// and dy for the gradients), whose operands accessed V elements at a time
/// have the views `vectorViews` (the input's first), under `options`. With
/// `assumeDynamic`, the row length, strides and offsets known only at run
/// time are taken to allow V-wide aligned accesses: the plan of the fast
/// side of a run-time check (emitVectorAccessCheck). With a
/// `rowSizeBound`, a dynamic row length is planned as that length: the
/// kernel for rows of at most `rowSizeBound` elements (its threads' last
/// vectors guarded).
KernelPlan planKernel(Type inputType, int64_t heldArrays,
                      ArrayRef<MemRefType> vectorViews,
                      const ConvertNormToGPUOptions &options,
                      bool assumeDynamic = false, int64_t rowSizeBound = 0);

/// The row lengths up to which a row known only at run time is held in
/// registers by a kernel planned for that length (`rowSizeBound` of
/// planKernel), smallest first; longer rows are streamed.
ArrayRef<int64_t> getRowLengthBuckets();

/// An i1, true when every view in `views` (rows x N or N, the operands
/// accessed V elements at a time) allows aligned accesses of `width`
/// elements: the row length and the row strides multiples of `width`, and
/// the address of element 0 aligned to the access (up to 16 bytes). What
/// is static folds away.
Value emitVectorAccessCheck(OpBuilder &b, Location loc, ValueRange views,
                            int64_t width);

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOGPU_KERNELPLAN_H
