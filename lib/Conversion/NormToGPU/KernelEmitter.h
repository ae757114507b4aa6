//===- KernelEmitter.h - The body of a norm kernel on the GPU ---*- C++ -*-===//
//
// Emits the body of the `gpu.launch` of one norm op: each thread's share of
// a row held in registers (or streamed), the statistics through the
// row-math layer and RowReducer's sums, and the output.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_CONVERSION_NORMTOGPU_KERNELEMITTER_H
#define NORM_LIB_CONVERSION_NORMTOGPU_KERNELEMITTER_H

#include "KernelPlan.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir {
namespace norm {

/// The operand views and host-side scalars the kernel body uses.
struct KernelOperands {
  Value input, residual, gamma, beta, output, residualOutput, mean, rstd;
  /// Where the offset d of the mean goes, for the statistics a gradient
  /// recomputes: the mean destination then takes the pivot p (null: the
  /// mean destination takes p + d).
  Value meanOffset;
  /// Epsilon and c = 1/sqrt(N) in the compute type: host values when only
  /// known at run time, otherwise constants created in the kernel.
  Value eps, invSqrtN;
  FloatAttr epsConstant, invSqrtNConstant;
  /// N, the row length, in the compute type (same convention).
  Value rowSize;
  FloatAttr rowSizeConstant;
  /// 1/N in the compute type: a constant when N is static, otherwise
  /// computed in the kernel from c (createInvRowSizeFromInvSqrt).
  Value invRowSize;
  FloatAttr invRowSizeConstant;
  /// The quantised output's scale in the compute type (a host value), or
  /// null.
  Value outScale;
  /// Dynamic quantisation: the scales' view (rows, or rows x groups) and
  /// their f32 upper bound (a host value), or null.
  Value scales, scaleUb;
};

/// The workgroup exchange regions a kernel for `op` uses when a row spans
/// warps: the sums (one for RMSNorm, two for LayerNorm), and a row's amax
/// for per-token dynamic quantisation.
int64_t getNumExchangeRegions(NormOpInterface op);

/// A workgroup-memory buffer of `size` elements of `elementType`.
MemRefType getWorkgroupBufferType(MLIRContext *context, int64_t size,
                                  Type elementType);

/// Creates a one-dimensional `gpu.launch` of `gridSize` blocks of
/// `blockSize` threads with the workgroup buffers `workgroupBuffers`, and
/// sets `b`'s insertion point before its body's terminator.
gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value gridSize,
                           Value blockSize,
                           ArrayRef<Type> workgroupBuffers = {});

/// Loads `width` elements of `view` at `indices` (the last one the column)
/// in one access when `width` > 1.
SmallVector<Value> loadVectorElements(OpBuilder &b, Location loc, Value view,
                                      ValueRange indices, int64_t width);
/// As loadVectorElements, converted to `computeType`; bf16 to f32 by
/// integer shifts and masks of the loaded words (one instruction an
/// element, exact).
SmallVector<Value> loadVectorElementsAs(OpBuilder &b, Location loc, Value view,
                                        ValueRange indices, int64_t width,
                                        Type computeType);
/// Stores `values`, converted to `view`'s element type, at `indices`, in
/// one access when there are several.
void storeVectorElements(OpBuilder &b, Location loc, Value view,
                         ValueRange indices, ArrayRef<Value> values);

/// Emits the kernel computing `op` as `plan` lays it out, on the views and
/// scalars `operands`, before the terminator of `launch`'s body. With no
/// `operands.output`, only the statistics (mean, rstd) are written.
void emitNormKernel(OpBuilder &b, Location loc, NormOpInterface op,
                    const KernelPlan &plan, const KernelOperands &operands,
                    gpu::LaunchOp launch);

/// Launches a kernel computing the forward op `op` (on memrefs, checked by
/// checkNormOpLowerableToGPU) at `b`'s insertion point; with
/// `statisticsOnly`, one writing its mean and rstd destinations only, the
/// mean as pivot and offset when `meanOffset` (a rows view) is given.
void emitNormLaunch(OpBuilder &b, NormOpInterface op,
                    const ConvertNormToGPUOptions &options, bool statisticsOnly,
                    Value meanOffset = Value());

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOGPU_KERNELEMITTER_H
