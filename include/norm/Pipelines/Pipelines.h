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

} // namespace norm
} // namespace mlir

#endif // NORM_PIPELINES_PIPELINES_H
