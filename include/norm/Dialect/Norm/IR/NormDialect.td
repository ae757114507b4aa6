//===- NormDialect.td - The norm dialect definition --------*- tablegen -*-===//
//
// The `norm` dialect: LayerNorm and RMSNorm as first-class operations.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_DIALECT_NORM_IR_NORMDIALECT_TD
#define NORM_DIALECT_NORM_IR_NORMDIALECT_TD

include "mlir/IR/OpBase.td"

def Norm_Dialect : Dialect {
  let name = "norm";
  let cppNamespace = "::mlir::norm";
  let summary = "First-class normalisation operations (LayerNorm, RMSNorm)";
  let description = [{
    The `norm` dialect gives each common normalisation one operation, so that a
    compiler stack sees a LayerNorm or an RMSNorm as one thing rather than as a
    chain of reductions and elementwise operations. The operations are
    destination-passing style aggregates, in the manner of `linalg.softmax`:
    they work on tensors and on memrefs, bufferize with `one-shot-bufferize`,
    tile along their row dimensions and decompose into `linalg.generic`s.

    Normalised dimensions are the trailing dimensions `[axis, rank)` of the
    input; the leading dimensions are independent rows.
  }];
  let hasCanonicalizer = 0;
}

#endif // NORM_DIALECT_NORM_IR_NORMDIALECT_TD
