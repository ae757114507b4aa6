//===- CPUPipeline.cpp - Kernel modules to the LLVM dialect for CPUs ------===//
//
// `--norm-cpu-pipeline` takes a module of kernels (functions on tensors, or
// on memrefs read with `bufferization.to_tensor` and written with
// `bufferization.materialize_in_destination`, holding norm ops next to
// linalg, tensor, arith, math, scf and memref code) to the LLVM dialect, for
// `mlir-runner` or for `mlir-translate --mlir-to-llvmir` and an ahead-of-time
// compiler. Functions marked `llvm.emit_c_interface` get a C-callable
// `_mlir_ciface_` wrapper.
//
//===----------------------------------------------------------------------===//

#include "norm/Pipelines/Pipelines.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ConvertToLLVM/ToLLVMPass.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "norm/Conversion/NormToAffine/NormToAffine.h"
#include "norm/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::norm;

/// Tensors to memrefs, with nothing allocated or copied for results that
/// have a destination: empty-tensor elimination lets a result materialised
/// into a buffer be computed in that buffer, and identity layouts at
/// function boundaries give kernels contiguous rows.
static void buildBufferizationPipeline(OpPassManager &pm) {
  // Memrefs in a GPU (or other non-host) memory space are an error, reported
  // where they appear, before any conversion trips over them.
  pm.addPass(createNormCheckHostMemorySpaces());
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // A tensor function returning the result it wrote into a writable
  // argument returns nothing instead, so that deallocation does not clone
  // that buffer to hand it back (callers in the module are updated).
  pm.addPass(createNormDropEquivalentBufferResults());
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(createConvertBufferizationToMemRefPass());
}

/// Norm ops to vector code in row loops, other linalg ops to plain loops,
/// and the row loops to OpenMP when asked.
static void buildLoopPipeline(OpPassManager &pm,
                              const NormCPUPipelineOptions &options) {
  // With `openmp`, the row loops of ops whose input has at least
  // `parallel-threshold` bytes are affine.parallel, which becomes OpenMP
  // threads (decided per call for dynamic shapes); smaller ones, and every
  // one without `openmp`, are serial loops.
  // Norm ops with the same signature share one private kernel function,
  // so that everything below lowers each distinct kernel once. A kernel
  // used once stays in place (a call would buy nothing). On memrefs, after
  // bufferization: the kernel sees the op's exact types, so its lowering is
  // the one the op would have had in place.
  NormOutlineKernelsOptions outline;
  outline.minOccurrences = 2;
  pm.addPass(createNormOutlineKernels(outline));
  ConvertNormToAffineOptions lowering = options.getConvertNormToAffineOptions();
  lowering.parallel = options.openmp;
  pm.addPass(createConvertNormToAffine(lowering));
  pm.addPass(createConvertLinalgToAffineLoopsPass());
  pm.addPass(createLowerAffinePass());
  if (options.openmp)
    pm.addPass(createConvertSCFToOpenMPPass());
  // Function by function, so that the pass manager runs them on many
  // functions at once (modules of many kernels and callers).
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createCSEPass());
}

/// Everything to the LLVM dialect.
static void buildLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // LLVM has no f8 types: truncations to f8E4M3FN become integer code.
  pm.addPass(createNormExpandFp8Casts());
  // The vector pass first: it also lowers masks and reductions, which the
  // generic conversion does not.
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addNestedPass<LLVM::LLVMFuncOp>(createCanonicalizerPass());
  pm.addNestedPass<LLVM::LLVMFuncOp>(createCSEPass());
}

void mlir::norm::buildNormCPUPipeline(OpPassManager &pm,
                                      const NormCPUPipelineOptions &options) {
  buildBufferizationPipeline(pm);
  buildLoopPipeline(pm, options);
  buildLLVMPipeline(pm);
}

void mlir::norm::registerNormCPUPipeline() {
  PassPipelineRegistration<NormCPUPipelineOptions>(
      "norm-cpu-pipeline",
      "Lower a kernel module (norm ops and the linalg, tensor, arith, math, "
      "scf, memref, func and bufferization code around them) to the LLVM "
      "dialect, with norm ops as vectorised row loops",
      buildNormCPUPipeline);
}
