//===- consumer-opt.cpp - An opt tool built on an installed norm-mlir -----===//
//
// Registers the norm dialect and its passes next to the few upstream
// dialects its test input uses, through the installed headers and the
// NormMLIR:: CMake targets.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "norm/InitNorm.h"

int main(int argc, char **argv) {
  mlir::norm::registerNormPasses();

  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::tensor::TensorDialect>();
  mlir::norm::registerNormDialects(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "an opt tool built against installed norm-mlir\n", registry));
}
