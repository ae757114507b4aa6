//===- Pipelines.h - norm-mlir lowering pipelines ---------------*- C++ -*-===//

#ifndef NORM_PIPELINES_PIPELINES_H
#define NORM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"
#include "norm/Conversion/NormToAffine/NormToAffine.h"
#include "norm/Conversion/NormToGPU/NormToGPU.h"

namespace mlir {
class OpPassManager;

namespace norm {

/// The options structs of the pipelines, `NormCPUPipelineOptions` and
/// `NormGPUPipelineOptions`, generated from norm/Pipelines/Pipelines.td: the
/// options of the lowering each pipeline runs are declared once, in that
/// pass's definition, and `get<Pass>Options()` returns them as the pass's
/// options struct.
#include "norm/Pipelines/Pipelines.h.inc"

//===----------------------------------------------------------------------===//
// CPU pipeline: a kernel module (norm ops and what surrounds them) -> LLVM.
//===----------------------------------------------------------------------===//

/// Adds the CPU pipeline: bufferization (results written straight into
/// their destinations), `convert-norm-to-affine`, loops for any other
/// linalg op, and the lowering of everything to the LLVM dialect, with
/// OpenMP for the row loops when asked.
void buildNormCPUPipeline(OpPassManager &pm,
                          const NormCPUPipelineOptions &options);

/// Registers `--norm-cpu-pipeline`.
void registerNormCPUPipeline();

//===----------------------------------------------------------------------===//
// GPU pipeline: norm ops (tensors or memrefs) -> gpu.binary for NVIDIA GPUs.
//===----------------------------------------------------------------------===//

/// Adds the GPU pipeline: bufferization, `convert-norm-to-gpu`, kernel
/// outlining, lowering of the kernels to NVVM and of the host code to the
/// LLVM dialect, and serialisation of the kernels into `gpu.binary` ops.
void buildNormGPUPipeline(OpPassManager &pm,
                          const NormGPUPipelineOptions &options);

/// Registers `--norm-gpu-pipeline`.
void registerNormGPUPipeline();

} // namespace norm
} // namespace mlir

#endif // NORM_PIPELINES_PIPELINES_H
