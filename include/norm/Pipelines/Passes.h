//===- Passes.h - passes the norm pipelines are built from ------*- C++ -*-===//

#ifndef NORM_PIPELINES_PASSES_H
#define NORM_PIPELINES_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace norm {

#define GEN_PASS_DECL
#include "norm/Pipelines/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "norm/Pipelines/Passes.h.inc"

} // namespace norm
} // namespace mlir

#endif // NORM_PIPELINES_PASSES_H
