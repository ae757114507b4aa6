//===- Pipelines.h - norm-mlir lowering pipelines ---------------*- C++ -*-===//

#ifndef NORM_PIPELINES_PIPELINES_H
#define NORM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;

namespace norm {

//===----------------------------------------------------------------------===//
// GPU pipeline: norm ops (tensors or memrefs) -> gpu.binary for NVIDIA GPUs.
//===----------------------------------------------------------------------===//

/// Options of `--norm-gpu-pipeline`.
struct NormGPUPipelineOptions
    : public PassPipelineOptions<NormGPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target GPU architecture (sm_80, sm_90)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("Target features, e.g. the PTX ISA version (+ptx80)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What gpu.binary holds: isa (PTX), bin (cubin, needs "
                     "ptxas) or fatbin (needs ptxas and fatbinary)"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit directory for bin and fatbin (default: "
                     "found from CUDA_ROOT / CUDA_HOME / CUDA_PATH)"),
      llvm::cl::init("")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level", llvm::cl::desc("LLVM optimisation level for NVPTX"),
      llvm::cl::init(3)};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("convert-norm-to-gpu: threads per block (0: from N)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> rowsPerBlock{
      *this, "rows-per-block",
      llvm::cl::desc("convert-norm-to-gpu: rows per block (0: from N)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("convert-norm-to-gpu: largest elements per access (0: "
                     "128 bits' worth)"),
      llvm::cl::init(0)};
};

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
