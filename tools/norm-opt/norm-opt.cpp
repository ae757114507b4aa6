//===- norm-opt.cpp - The norm-mlir optimizer driver ----------------------===//
//
// An `mlir-opt` with the norm dialect and every norm pass and pipeline
// registered next to all of upstream MLIR's dialects, passes and extensions.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "norm/InitNorm.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::norm::registerNormPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates kernels to LLVM IR (as mlir-opt does).
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  mlir::norm::registerNormDialects(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "norm-mlir optimizer driver\n", registry));
}
