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
  /// Epsilon and c = 1/sqrt(N) in the compute type: host values when only
  /// known at run time, otherwise constants created in the kernel.
  Value eps, invSqrtN;
  FloatAttr epsConstant, invSqrtNConstant;
  /// N, the row length, in the compute type (same convention).
  Value rowSize;
  FloatAttr rowSizeConstant;
  /// The quantised output's scale in the compute type (a host value), or
  /// null.
  Value outScale;
};

/// Emits the kernel computing `op` as `plan` lays it out, on the views and
/// scalars `operands`, before the terminator of `launch`'s body.
void emitNormKernel(OpBuilder &b, Location loc, NormOpInterface op,
                    const KernelPlan &plan, const KernelOperands &operands,
                    gpu::LaunchOp launch);

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_CONVERSION_NORMTOGPU_KERNELEMITTER_H
