//===- Pipelines.h - norm-mlir lowering pipelines ---------------*- C++ -*-===//

#ifndef NORM_PIPELINES_PIPELINES_H
#define NORM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;

namespace norm {

//===----------------------------------------------------------------------===//
// CPU pipeline: a kernel module (norm ops and what surrounds them) -> LLVM.
//===----------------------------------------------------------------------===//

/// Options of `--norm-cpu-pipeline`.
struct NormCPUPipelineOptions
    : public PassPipelineOptions<NormCPUPipelineOptions> {
  PassOptions::Option<unsigned> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("convert-norm-to-affine: f32 lanes per vector (0: the "
                     "host's widest register)"),
      llvm::cl::init(0)};
  PassOptions::Option<unsigned> unroll{
      *this, "unroll",
      llvm::cl::desc("convert-norm-to-affine: independent accumulators per "
                     "statistics sweep"),
      llvm::cl::init(4)};
  PassOptions::Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("Run rows in parallel with OpenMP (link libomp); "
                     "otherwise serially"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> nontemporalThreshold{
      *this, "nontemporal-threshold",
      llvm::cl::desc("convert-norm-to-affine: non-temporal stores for "
                     "outputs of at least this many bytes (-1: never)"),
      llvm::cl::init(32 << 20)};
  PassOptions::Option<bool> prefetch{
      *this, "prefetch",
      llvm::cl::desc("convert-norm-to-affine: prefetch the next row while "
                     "normalising"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> onePassVariance{
      *this, "one-pass-variance",
      llvm::cl::desc("convert-norm-to-affine: LayerNorm variance from the "
                     "first sweep when accurate"),
      llvm::cl::init(true)};
  PassOptions::Option<unsigned> prefetchLocality{
      *this, "prefetch-locality",
      llvm::cl::desc("convert-norm-to-affine: locality hint of the "
                     "prefetches (0-3)"),
      llvm::cl::init(3)};
};

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
