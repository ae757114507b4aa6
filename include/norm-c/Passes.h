//===-- norm-c/Passes.h - C API for the norm passes ---------------*- C -*-===//
//
// Makes the norm passes and pipelines known to MLIR's global pass registry,
// so that pipeline strings given to `mlirParsePassPipeline` or
// `mlirOpPassManagerAddPipeline` can name them.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_C_PASSES_H
#define NORM_C_PASSES_H

#include "mlir-c/Pass.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Registers every norm pass and pass pipeline (e.g. `convert-norm-to-linalg`,
/// `norm-cpu-pipeline` where built) with the global registry. Safe to call
/// more than once.
MLIR_CAPI_EXPORTED void mlirRegisterNormPasses(void);

/// Adds the pass or pass pipeline registered as `name`, configured by
/// `options` (its option string, possibly empty), to `passManager` the way
/// `norm-opt` (like `mlir-opt`) adds the command-line flag `--name=options`:
/// a pass anchored on another operation type than the pass manager's (e.g. a
/// `func.func` pass on a `builtin.module` pass manager) is nested in a pass
/// manager for that type. Textual pipelines (`mlirOpPassManagerAddPipeline`)
/// require that nesting to be spelled out. On failure (an unknown name, bad
/// options), reports the reason through `callback` and returns failure.
MLIR_CAPI_EXPORTED MlirLogicalResult mlirNormOpPassManagerAddPassFlag(
    MlirOpPassManager passManager, MlirStringRef name, MlirStringRef options,
    MlirStringCallback callback, void *userData);

#ifdef __cplusplus
}
#endif

#endif // NORM_C_PASSES_H
