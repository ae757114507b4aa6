//===- Passes.td - passes the norm pipelines are built from -*- tablegen -*-===//

#ifndef NORM_PIPELINES_PASSES_TD
#define NORM_PIPELINES_PASSES_TD

include "mlir/Pass/PassBase.td"

def NormDropEquivalentBufferResults
    : Pass<"norm-drop-equivalent-buffer-results", "::mlir::ModuleOp"> {
  let summary = "Drop memref results that are function arguments, public "
                "functions included";
  let description = [{
    After bufferization, a function that wrote its tensor result into a
    `bufferization.writable` argument returns that argument's buffer. Left
    as it is, buffer deallocation clones the buffer to give the caller a
    result it owns: an allocation and a copy on every call. This pass drops
    such results (a result that is an argument, possibly through
    `memref.cast`), so the function writes straight into the caller's
    buffer and returns nothing for it; calls in the module are rewritten to
    use the argument.

    Unlike upstream's `drop-equivalent-buffer-results` (which in MLIR 22
    leaves public functions alone), it changes public signatures too: in
    the kernel ABI that norm-mlir lowers, a writable argument *is* the
    caller's destination, so `f(x, out) -> out` becomes `f(x, out)`.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // NORM_PIPELINES_PASSES_TD
