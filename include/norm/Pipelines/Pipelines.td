//===- Pipelines.td - Options of the norm-mlir pipelines ---*- tablegen -*-===//
//
// The options of `--norm-cpu-pipeline` and `--norm-gpu-pipeline`. Those of
// norm's lowerings are taken from the passes' definitions
// (norm/Conversion/Passes.td); only options that belong to a pipeline itself
// are declared here.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_PIPELINES_PIPELINES_TD
#define NORM_PIPELINES_PIPELINES_TD

include "norm/Conversion/Passes.td"
include "norm/Pipelines/PipelineBase.td"

def NormCPUPipelineOptions : PipelineOptions {
  // `openmp` decides whether row loops are parallel (affine.parallel, then
  // OpenMP), so the lowering's own `parallel` is not an option here; its
  // `parallel-threshold` is.
  let passOptions = [PassOptionsOf<ConvertNormToAffine, ["parallel"]>];
  let options = [
    Option<"openmp", "openmp", "bool", /*default=*/"false",
           "Run rows in parallel with OpenMP (link libomp); otherwise "
           "serially">,
  ];
}

def NormGPUPipelineOptions : PipelineOptions {
  let passOptions = [PassOptionsOf<ConvertNormToGPU>];
  // Upstream's nvvm-attach-target and gpu-module-to-binary take these under
  // other names and defaults; the pipeline keeps its own.
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Target GPU architecture (sm_80, sm_90)">,
    Option<"features", "features", "std::string", /*default=*/"\"+ptx80\"",
           "Target features, e.g. the PTX ISA version (+ptx80)">,
    Option<"format", "format", "std::string", /*default=*/"\"isa\"",
           "What gpu.binary holds: isa (PTX), bin (cubin, needs ptxas) or "
           "fatbin (needs ptxas and fatbinary)">,
    Option<"toolkit", "toolkit", "std::string", /*default=*/"\"\"",
           "CUDA toolkit directory for bin and fatbin (default: found from "
           "CUDA_ROOT / CUDA_HOME / CUDA_PATH)">,
    Option<"optLevel", "opt-level", "unsigned", /*default=*/"3",
           "LLVM optimisation level for NVPTX">,
  ];
}

#endif // NORM_PIPELINES_PIPELINES_TD
