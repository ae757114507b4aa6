//===-- norm-c/Dialects.h - C API for the norm dialect ------------*- C -*-===//
//
// Loads the norm dialect into an MLIR context from C, following the
// conventions of MLIR's own C API (`mlir-c/Dialect/*.h`).
//
//===----------------------------------------------------------------------===//

#ifndef NORM_C_DIALECTS_H
#define NORM_C_DIALECTS_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

/// `mlirGetDialectHandle__norm__()`: the handle of the norm dialect. Inserting
/// it into a registry (or loading it into a context) also attaches the norm
/// ops' external interface models, such as their bufferization, so that a
/// context set up through the handle alone can run every norm pass.
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Norm, norm);

/// Inserts the norm dialect and its external interface models into
/// `registry`; the same as inserting the dialect handle.
MLIR_CAPI_EXPORTED void mlirRegisterNormDialects(MlirDialectRegistry registry);

#ifdef __cplusplus
}
#endif

#endif // NORM_C_DIALECTS_H
