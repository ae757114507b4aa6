//===- NormTransformOps.td - Transform dialect ops for norm -*- tablegen -*-===//

#ifndef NORM_DIALECT_NORM_TRANSFORMOPS_NORMTRANSFORMOPS_TD
#define NORM_DIALECT_NORM_TRANSFORMOPS_NORMTRANSFORMOPS_TD

include "mlir/Dialect/Transform/IR/TransformDialect.td"
include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

//===----------------------------------------------------------------------===//
// Capture and fusion.
//===----------------------------------------------------------------------===//

def NormCaptureOp : Op<Transform_Dialect, "norm.capture",
    [DeclareOpInterfaceMethods<TransformOpInterface>,
     DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
     ReportTrackingListenerFailuresOpTrait]> {
  let summary = "Replaces decomposed LayerNorm / RMSNorm chains by norm ops";
  let description = [{
    Runs what `--norm-capture` runs on the body of each target: every chain
    of reductions and elementwise ops proven to compute a LayerNorm or an
    RMSNorm is replaced by one `norm.layer_norm` or `norm.rms_norm`, and the
    ops the chain no longer needs are erased. `report` and
    `widen_statistics` are the pass's `report` and `widen-statistics`
    options.

    The result is a new handle to the norm ops the capture created, in the
    order in which they appear in the targets.

    #### Return modes

    The targets must be functions (any `FunctionOpInterface` op) or modules;
    any other target is a silenceable failure, reported before anything is
    changed. Otherwise the op succeeds, with an empty result when nothing
    was captured.

    This op reads the target handle and modifies the payload: a handle to an
    op of a captured chain that was erased loses it, and a handle to the
    chain's final op that is still used afterwards is a tracking failure
    (its replacement is an op of another kind).
  }];

  let arguments = (ins TransformHandleTypeInterface:$target,
                       UnitAttr:$report,
                       UnitAttr:$widen_statistics);
  let results = (outs TransformHandleTypeInterface:$norm_ops);
  let assemblyFormat =
      "$target attr-dict `:` functional-type(operands, results)";
}

def NormFuseOp : Op<Transform_Dialect, "norm.fuse",
    [DeclareOpInterfaceMethods<TransformOpInterface>,
     DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
     ReportTrackingListenerFailuresOpTrait]> {
  let summary = "Absorbs neighbouring ops into the norm ops of the targets";
  let description = [{
    Runs what `--norm-fuse` runs on the norm ops in the body of each target:
    producer residual adds, row-broadcast weights, output casts,
    quantisation chains and separately computed statistics are absorbed
    into the norm ops, on tensors, as long as that does not change the math.

    The result is a new handle to the fused norm ops (the norm ops the
    fusion created and that remain at its end), in the order in which they
    appear in the targets; norm ops that absorbed nothing are not in it.

    #### Return modes

    The targets must be functions (any `FunctionOpInterface` op) or modules;
    any other target is a silenceable failure, reported before anything is
    changed. A fusion that does not converge is a silenceable failure too.

    This op reads the target handle and modifies the payload: a fused norm
    op replaces the op it was built from, which is erased, so handles to
    the norm ops from before the fusion lose those that were fused.
  }];

  let arguments = (ins TransformHandleTypeInterface:$target);
  let results = (outs TransformHandleTypeInterface:$fused_ops);
  let assemblyFormat =
      "$target attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Lowering patterns, for transform.apply_patterns.
//===----------------------------------------------------------------------===//

def ApplyNormLowerToLinalgPatternsOp : Op<Transform_Dialect,
    "apply_patterns.norm.lower_to_linalg",
    [DeclareOpInterfaceMethods<PatternDescriptorOpInterface>]> {
  let summary = "The reference lowering of norm ops to linalg.generic";
  let description = [{
    Collects the patterns of `--convert-norm-to-linalg`: each norm op, on
    tensors or on memrefs, is replaced by its decomposition into
    `linalg.generic`s.
  }];
  let assemblyFormat = "attr-dict";
}

def ApplyNormLowerToAffinePatternsOp : Op<Transform_Dialect,
    "apply_patterns.norm.lower_to_affine",
    [DeclareOpInterfaceMethods<PatternDescriptorOpInterface>]> {
  let summary = "The CPU lowering of norm ops on memrefs";
  let description = [{
    Collects the pattern of `--convert-norm-to-affine`: each norm op on
    memrefs is replaced by a loop over its rows of vector code. `options`
    are the pass's options, written as on its command line
    (`options = "vector-width=8 unroll=2"`); those not given keep the
    pass's defaults. Norm ops on tensors are left alone.
  }];
  let arguments = (ins OptionalAttr<StrAttr>:$options);
  let assemblyFormat = "(`options` `=` $options^)? attr-dict";
  let hasVerifier = 1;
}

def ApplyNormLowerToGPUPatternsOp : Op<Transform_Dialect,
    "apply_patterns.norm.lower_to_gpu",
    [DeclareOpInterfaceMethods<PatternDescriptorOpInterface>]> {
  let summary = "The GPU lowering of norm ops on memrefs";
  let description = [{
    Collects the pattern of `--convert-norm-to-gpu`: each norm op on memrefs
    that the GPU lowering supports is replaced by a `gpu.launch` computing
    it. `options` are the pass's options, written as on its command line
    (`options = "block-size=256 vector-width=4"`); those not given keep the
    pass's defaults. Norm ops on tensors are left alone.
  }];
  let arguments = (ins OptionalAttr<StrAttr>:$options);
  let assemblyFormat = "(`options` `=` $options^)? attr-dict";
  let hasVerifier = 1;
}

#endif // NORM_DIALECT_NORM_TRANSFORMOPS_NORMTRANSFORMOPS_TD
