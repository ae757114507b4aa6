//===- GPUPipeline.cpp - norm ops to gpu.binary for NVIDIA GPUs -----------===//
//
// `--norm-gpu-pipeline` takes the kernel files the CPU pipeline takes
// (functions on tensors, or on memrefs read with `bufferization.to_tensor`
// and written with `bufferization.materialize_in_destination`) down to
// host code in the LLVM dialect launching kernels held by `gpu.binary` ops.
// The stages follow upstream's `gpu-lower-to-nvvm-pipeline`: common
// preparation, then the device modules, then the host code.
//
//===----------------------------------------------------------------------===//

#include "norm/Pipelines/Pipelines.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "norm/Conversion/NormToGPU/NormToGPU.h"

using namespace mlir;
using namespace mlir::norm;

/// Tensors to memrefs, writing results straight into the destinations of
/// `materialize_in_destination` (no copies on the host, which could not
/// touch device memory), with identity layouts at function boundaries so
/// that kernels see contiguous rows.
static void buildBufferizationPipeline(OpPassManager &pm) {
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addPass(createConvertBufferizationToMemRefPass());
}

/// Norm ops to launches, launches to kernels, and what both sides share.
static void buildCommonPipeline(OpPassManager &pm,
                                const NormGPUPipelineOptions &options) {
  ConvertNormToGPUOptions lowering;
  lowering.blockSize = options.blockSize;
  lowering.rowsPerBlock = options.rowsPerBlock;
  lowering.vectorWidth = options.vectorWidth;
  pm.addPass(createConvertNormToGPU(lowering));
  pm.addNestedPass<func::FuncOp>(createNormGPUDeviceBuffers());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Canonicalisation hoists constants out of the launch bodies; put them
  // back so that they do not become kernel arguments.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // gpu.alloc, gpu.dealloc and gpu.memcpy lower to runtime calls only in
  // their asynchronous form.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());

  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// The kernels, down to the NVVM and LLVM dialects.
static void buildDevicePipeline(OpPassManager &pm) {
  // sqrt to the llvm.sqrt intrinsic first: it becomes the correctly rounded
  // sqrt.rn instead of a call into libdevice, which format=isa could not
  // resolve without a CUDA toolkit.
  pm.addNestedPass<gpu::GPUModuleOp>(createNormGPUSqrtToLLVM());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(nvvm));
  pm.addNestedPass<gpu::GPUModuleOp>(LLVM::createNVVMOptimizeForTargetPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
}

/// The host code, and the serialisation of the kernels.
static void buildHostPipeline(OpPassManager &pm,
                              const NormGPUPipelineOptions &options) {
  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::norm::buildNormGPUPipeline(OpPassManager &pm,
                                      const NormGPUPipelineOptions &options) {
  buildBufferizationPipeline(pm);
  buildCommonPipeline(pm, options);
  buildDevicePipeline(pm);
  buildHostPipeline(pm, options);
}

void mlir::norm::registerNormGPUPipeline() {
  PassPipelineRegistration<NormGPUPipelineOptions>(
      "norm-gpu-pipeline",
      "Lower norm ops (on tensors or memrefs) to host code in the LLVM "
      "dialect launching NVIDIA GPU kernels held in gpu.binary ops (PTX, "
      "cubin or fatbin)",
      buildNormGPUPipeline);
}
