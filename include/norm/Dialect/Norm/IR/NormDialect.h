//===- NormDialect.h - The norm dialect -------------------------*- C++ -*-===//

#ifndef NORM_DIALECT_NORM_IR_NORMDIALECT_H
#define NORM_DIALECT_NORM_IR_NORMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "norm/Dialect/Norm/IR/NormOpsDialect.h.inc"

#endif // NORM_DIALECT_NORM_IR_NORMDIALECT_H
