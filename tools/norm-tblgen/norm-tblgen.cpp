//===- norm-tblgen.cpp - norm-mlir's TableGen generators ------------------===//
//
// The driver of mlir-tblgen with norm-mlir's own generators linked in:
// -gen-pipeline-options (PipelineOptionsGen.cpp).
//
//===----------------------------------------------------------------------===//

#include "mlir/Tools/mlir-tblgen/MlirTblgenMain.h"

int main(int argc, char **argv) { return mlir::MlirTblgenMain(argc, argv); }
