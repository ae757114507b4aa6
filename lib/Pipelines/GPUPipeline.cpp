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
#include "norm/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"

using namespace mlir;
using namespace mlir::norm;

/// Tensors to memrefs, writing results straight into the destinations of
/// `materialize_in_destination` (no copies on the host, which could not
/// touch device memory), with identity layouts at function boundaries so
/// that kernels see contiguous rows.
static void buildBufferizationPipeline(OpPassManager &pm) {
  // Memrefs in memory spaces no conversion maps are reported where they
  // appear (the LLVM conversions would only print a location-less error).
  NormCheckHostMemorySpacesOptions spaces;
  spaces.allowGpuAddressSpaces = true;
  pm.addPass(createNormCheckHostMemorySpaces(spaces));
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
  // One kernel function per distinct norm signature (see the CPU pipeline),
  // and so one gpu.launch, and in the end one gpu.func, per signature.
  NormOutlineKernelsOptions outline;
  outline.minOccurrences = 2;
  pm.addPass(createNormOutlineKernels(outline));
  pm.addPass(createConvertNormToGPU(options.getConvertNormToGPUOptions()));
  pm.addNestedPass<func::FuncOp>(createNormGPUDeviceBuffers());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Canonicalisation hoists constants out of the launch bodies; put them
  // back so that they do not become kernel arguments.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // gpu.alloc, gpu.dealloc and gpu.memcpy lower to runtime calls only in
  // their asynchronous form: on the caller's stream where a function takes
  // one (a !gpu.async.token argument), else on a stream per call.
  pm.addPass(createNormGPUCallerStreams());

  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  // LLVM has no f8 types (and NVPTX no f8 conversions before sm_89): the
  // truncations of f8E4M3FN outputs become integer code, on every chip.
  pm.addPass(createNormExpandFp8Casts());
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

/// Checks the options that upstream's passes would only report while going
/// on (gpu-module-to-binary emits an error for an unknown format or a
/// missing toolkit directory, yet succeeds: norm-opt would exit 0).
static LogicalResult
verifyNormGPUPipelineOptions(const NormGPUPipelineOptions &options,
                             function_ref<LogicalResult(const Twine &)> error) {
  StringRef format = options.format;
  if (!llvm::is_contained({"isa", "assembly", "bin", "binary", "fatbin",
                           "fatbinary", "llvm", "offloading"},
                          format))
    return error("norm-gpu-pipeline: format must be isa, bin, fatbin or llvm, "
                 "got '" +
                 format + "'");
  StringRef toolkit = options.toolkit;
  if (!toolkit.empty() && !llvm::sys::fs::is_directory(toolkit))
    return error("norm-gpu-pipeline: toolkit '" + toolkit +
                 "' is not a directory");
  // An unknown chip would only be reported by the NVVM target's verifier
  // after LLVM's instruction selection had already aborted on it.
  StringRef chip = options.chip;
  unsigned smVersion = 0;
  StringRef digits = chip;
  if (!digits.consume_front("sm_") ||
      digits.consumeInteger(/*Radix=*/10, smVersion) ||
      !(digits.empty() || digits == "a" || digits == "f") || smVersion < 20)
    return error("norm-gpu-pipeline: chip must be an NVIDIA architecture "
                 "such as sm_80 or sm_90, got '" +
                 chip + "'");
  if (options.optLevel > 3)
    return error("norm-gpu-pipeline: opt-level must be 0 to 3, got " +
                 Twine(options.optLevel));
  return success();
}

void mlir::norm::registerNormGPUPipeline() {
  registerPassPipeline(
      "norm-gpu-pipeline",
      "Lower norm ops (on tensors or memrefs) to host code in the LLVM "
      "dialect launching NVIDIA GPU kernels held in gpu.binary ops (PTX, "
      "cubin or fatbin)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> error) {
        NormGPUPipelineOptions options;
        if (failed(options.parseFromString(text)) ||
            failed(verifyNormGPUPipelineOptions(options, error)))
          return failure();
        buildNormGPUPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> handler) {
        handler(NormGPUPipelineOptions());
      });
}
