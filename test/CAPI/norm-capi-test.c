//===- norm-capi-test.c - The norm C API, used from C ---------------------===//
//
// A C program linked only against libNormCAPI.so: loads the norm dialect,
// parses a module, runs pass pipelines and prints the results, checking that
// the library exports what such a client needs.
//
//===----------------------------------------------------------------------===//

// RUN: %norm_capi_test 2>&1 | FileCheck %s

#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/RegisterEverything.h"
#include "norm-c/Dialects.h"
#include "norm-c/Passes.h"

#include <stdio.h>
#include <string.h>

static const char *layerNormModule =
    "func.func @ln(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {\n"
    "  %i = tensor.empty() : tensor<4x8xf32>\n"
    "  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x8xf32>)\n"
    "       outs(%i : tensor<4x8xf32>) -> tensor<4x8xf32>\n"
    "  return %y : tensor<4x8xf32>\n"
    "}\n";

static void printToStderr(MlirStringRef text, void *userData) {
  (void)userData;
  fwrite(text.data, 1, text.length, stderr);
}

static MlirContext createContext(void) {
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  mlirRegisterAllDialects(registry);
  mlirRegisterNormDialects(registry);
  MlirContext ctx = mlirContextCreateWithRegistry(registry, false);
  mlirDialectRegistryDestroy(registry);
  return ctx;
}

/// Loads the dialect through its handle alone.
static int testDialectHandle(void) {
  fprintf(stderr, "@testDialectHandle\n");
  MlirDialectHandle handle = mlirGetDialectHandle__norm__();
  MlirStringRef ns = mlirDialectHandleGetNamespace(handle);
  // CHECK-LABEL: @testDialectHandle
  // CHECK: namespace: norm
  fprintf(stderr, "namespace: %.*s\n", (int)ns.length, ns.data);

  MlirContext ctx = mlirContextCreate();
  MlirDialect dialect = mlirDialectHandleLoadDialect(handle, ctx);
  if (mlirDialectIsNull(dialect))
    return 1;
  MlirStringRef loaded = mlirDialectGetNamespace(dialect);
  // CHECK: loaded: norm
  fprintf(stderr, "loaded: %.*s\n", (int)loaded.length, loaded.data);
  mlirContextDestroy(ctx);
  return 0;
}

/// Parses a norm op, lowers it with a textual pipeline and prints it.
static int testParseLowerPrint(void) {
  fprintf(stderr, "@testParseLowerPrint\n");
  MlirContext ctx = createContext();
  MlirModule module = mlirModuleCreateParse(
      ctx, mlirStringRefCreateFromCString(layerNormModule));
  if (mlirModuleIsNull(module))
    return 2;
  MlirOperation op = mlirModuleGetOperation(module);

  // CHECK-LABEL: @testParseLowerPrint
  // CHECK: norm.layer_norm eps(1.0e-05)
  mlirOperationPrint(op, printToStderr, NULL);
  fprintf(stderr, "\n");

  MlirPassManager pm = mlirPassManagerCreateOnOperation(
      ctx, mlirStringRefCreateFromCString("builtin.module"));
  MlirOpPassManager opm = mlirPassManagerGetAsOpPassManager(pm);
  if (mlirLogicalResultIsFailure(mlirOpPassManagerAddPipeline(
          opm, mlirStringRefCreateFromCString("convert-norm-to-linalg"),
          printToStderr, NULL)))
    return 3;
  if (mlirLogicalResultIsFailure(mlirPassManagerRunOnOp(pm, op)))
    return 4;
  // CHECK: func.func @ln
  // CHECK-NOT: norm.layer_norm
  // CHECK: linalg.generic
  mlirOperationPrint(op, printToStderr, NULL);
  fprintf(stderr, "\n");

  mlirPassManagerDestroy(pm);
  mlirModuleDestroy(module);
  mlirContextDestroy(ctx);
  return 0;
}

/// Adds passes as norm-opt flags: a func.func pass on a module pass manager
/// nests implicitly; unknown names and options are reported, not fatal.
static int testPassFlags(void) {
  fprintf(stderr, "@testPassFlags\n");
  MlirContext ctx = createContext();
  MlirPassManager pm = mlirPassManagerCreateOnOperation(
      ctx, mlirStringRefCreateFromCString("builtin.module"));
  MlirOpPassManager opm = mlirPassManagerGetAsOpPassManager(pm);
  MlirStringRef noOptions = mlirStringRefCreateFromCString("");

  // CHECK-LABEL: @testPassFlags
  // CHECK: 'no-such-pass' does not refer to a registered pass or pass pipeline
  if (mlirLogicalResultIsSuccess(mlirNormOpPassManagerAddPassFlag(
          opm, mlirStringRefCreateFromCString("no-such-pass"), noOptions,
          printToStderr, NULL)))
    return 5;
  if (mlirLogicalResultIsFailure(mlirNormOpPassManagerAddPassFlag(
          opm,
          mlirStringRefCreateFromCString("affine-loop-invariant-code-motion"),
          noOptions, printToStderr, NULL)))
    return 6;
  if (mlirLogicalResultIsFailure(mlirNormOpPassManagerAddPassFlag(
          opm, mlirStringRefCreateFromCString("convert-norm-to-linalg"),
          noOptions, printToStderr, NULL)))
    return 7;
  // CHECK: pipeline: builtin.module(func.func(affine-loop-invariant-code-motion),convert-norm-to-linalg)
  fprintf(stderr, "pipeline: ");
  mlirPrintPassPipeline(opm, printToStderr, NULL);
  fprintf(stderr, "\n");
  mlirPassManagerDestroy(pm);
  mlirContextDestroy(ctx);
  return 0;
}

int main(void) {
  mlirRegisterAllPasses();
  mlirRegisterNormPasses();
  mlirRegisterNormPasses(); // A second call must be harmless.
  int status;
  if ((status = testDialectHandle()))
    return status;
  if ((status = testParseLowerPrint()))
    return status;
  if ((status = testPassFlags()))
    return status;
  // CHECK: done
  fprintf(stderr, "done\n");
  return 0;
}
