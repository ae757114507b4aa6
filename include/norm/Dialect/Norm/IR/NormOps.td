//===- NormOps.td - norm.layer_norm and norm.rms_norm ------*- tablegen -*-===//
//
// The operations of the norm dialect.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_DIALECT_NORM_IR_NORMOPS_TD
#define NORM_DIALECT_NORM_IR_NORMOPS_TD

include "norm/Dialect/Norm/IR/NormDialect.td"
include "norm/Dialect/Norm/IR/NormInterfaces.td"
include "mlir/Dialect/Linalg/IR/LinalgInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

/// A ranked tensor or a memref: norm ops work on both.
def Norm_Shaped : AnyTypeOf<[AnyRankedTensor, AnyMemRef],
                            "ranked tensor or memref">;

class Norm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Norm_Dialect, mnemonic, traits>;

/// Shared definition of the normalisation ops. `isLayerNorm` adds the shift
/// operand (beta) and the mean result, which RMSNorm does not have.
class Norm_NormalizationOp<string mnemonic, bit isLayerNorm>
    : Norm_Op<mnemonic, [
        AttrSizedOperandSegments,
        DestinationStyleOpInterface,
        NormOpInterface,
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                  ["reifyResultShapes"]>,
        DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>,
        DeclareOpInterfaceMethods<TilingInterface,
          ["getIterationDomain",
           "getLoopIteratorTypes",
           "getResultTilePosition",
           "getTiledImplementation"]>]> {

  let arguments = !con(
    (ins Norm_Shaped:$input,
         Optional<Norm_Shaped>:$residual,
         Optional<Norm_Shaped>:$gamma),
    !if(isLayerNorm, (ins Optional<Norm_Shaped>:$beta), (ins)),
    (ins Optional<AnyFloat>:$eps_value,
         Optional<AnyFloat>:$out_scale,
         Optional<AnyFloat>:$scale_ub,
         Norm_Shaped:$output,
         Optional<Norm_Shaped>:$residual_output),
    !if(isLayerNorm, (ins Optional<Norm_Shaped>:$mean), (ins)),
    (ins Optional<Norm_Shaped>:$rstd,
         Optional<Norm_Shaped>:$scales,
         OptionalAttr<I64Attr>:$axis,
         OptionalAttr<F64Attr>:$epsilon,
         OptionalAttr<I64Attr>:$group_size,
         OptionalAttr<F64Attr>:$min_scale));

  let results = (outs Variadic<AnyRankedTensor>:$results);

  let assemblyFormat = !strconcat([{
    (`axis` `(` $axis^ `)`)?
    custom<Epsilon>($epsilon, $eps_value, type($eps_value))
    `ins` `(` $input `:` type($input) `)`
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    (`gamma` `(` $gamma^ `:` type($gamma) `)`)?
  }], !if(isLayerNorm, [{
    (`beta` `(` $beta^ `:` type($beta) `)`)?
  }], ""), [{
    (`out_scale` `(` $out_scale^ `:` type($out_scale) `)`)?
    (`scale_ub` `(` $scale_ub^ `:` type($scale_ub) `)`)?
    `outs` `(` $output `:` type($output) `)`
    (`residual_out` `(` $residual_output^ `:` type($residual_output) `)`)?
  }], !if(isLayerNorm, [{
    (`mean` `(` $mean^ `:` type($mean) `)`)?
  }], ""), [{
    (`rstd` `(` $rstd^ `:` type($rstd) `)`)?
    (`scales` `(` $scales^ `:` type($scales) `)`)?
    (`group_size` `(` $group_size^ `)`)?
    (`min_scale` `(` $min_scale^ `)`)?
    attr-dict (`->` type($results)^)?
  }]);

  code extraNormClassDeclaration = [{
    /// All destination operands: output, then the optional residual sum,
    /// mean, rstd and scales destinations, in that order (the order of the
    /// results).
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      unsigned first = getOutputMutable().getOperandNumber();
      return ::mlir::MutableOperandRange(getOperation(), first,
                                         getOperation()->getNumOperands() - first);
    }
    /// The op's tensor result for the normalised output (tensor form only).
    ::mlir::Value getOutputResult() { return getResults().front(); }
  }];

  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Norm_LayerNormOp : Norm_NormalizationOp<"layer_norm", /*isLayerNorm=*/1> {
  let summary = "Layer normalisation over the trailing dimensions";
  let description = [{
    Normalises each row of `input` over the dimensions `[axis, rank)` (`axis`
    defaults to the last dimension). With `N` the number of normalised
    elements per row and `h = input (+ residual)`:

    ```
    mean = sum(h) / N
    var  = sum((h - mean)^2) / N          (biased, as PyTorch)
    rstd = 1 / sqrt(var + eps)
    out  = (h - mean) * rstd * gamma + beta
    ```

    `gamma` and `beta` are optional and, when present, shaped like the
    normalised dimensions. `eps` is either the `epsilon` attribute or a scalar
    operand known only at run time. f16 and bf16 inputs are computed in f32 and
    rounded once; the output element type may differ from the input's (a fused
    output cast).

    A quantised output (`i8` or `f8E4M3FN`) takes a per-tensor `out_scale`, a
    float scalar: with `y` the normalised value in the compute type,

    ```
    i8:       out = y / out_scale, rounded half to even, clamped to
                    [-128, 127] (NaN gives 0)
    f8E4M3FN: out = y / out_scale, clamped to [-448, 448], rounded to
                    nearest even (NaN stays NaN)
    ```

    Or it is quantised dynamically, with scales computed from the row itself
    (vLLM's `rms_norm_dynamic_per_token_quant` and
    `rms_norm_per_block_quant`): a `scales` destination (f32) instead of an
    `out_scale`. Per token (no `group_size`) a row has one scale and `scales`
    is shaped like the leading (row) dimensions; per group, `group_size(G)`
    splits each row (one normalised dimension) into groups of G consecutive
    elements, G dividing N, and `scales` is shaped `[rows..., N/G]`. With
    qmax = 127 (i8) or 448 (f8E4M3FN), for each row or group g:

    ```
    amax     = max over g of |y|                  (NaN if any y is NaN)
    scale[g] = min(max(amax / qmax, min_scale), scale_ub)
    out      = quantise(y / scale[g])             (as for out_scale)
    ```

    `min_scale` (an attribute, default 0: no floor) keeps an all-zero group
    from dividing by zero; `scale_ub` (an optional run-time f32 scalar)
    bounds the scale from above. vLLM's `scale_ub` bounds amax instead, so
    a vLLM caller passes its `scale_ub / qmax`. A transposed scales layout
    (`[N/G, rows]` in memory) is a strided memref destination, e.g.
    `memref<?x32xf32, strided<[1, ?]>>`.

    Optional destinations, each opt-in: `residual_out` receives `h` in the
    input's type (requires `residual`); `mean` and `rstd` receive the per-row
    statistics, shaped like the leading (row) dimensions; `scales` (above).

    The op is in destination-passing style: on tensors it returns one result
    per destination, on memrefs it writes the destinations and returns nothing.

    In place: on memrefs, `outs` may be the very buffer of `input` (or of
    `residual`), and `residual_out` that of `residual` (or of `input`), as in
    vLLM's `fused_add_rms_norm`, which writes `residual <- x + residual` and
    `x <- norm(x + residual)`. Every lowering reads a row of the inputs
    before it writes any of that row, so this is well defined, and needs no
    copy. Other overlaps (views offset from each other, a destination over
    `gamma`, `beta` or another destination) are undefined. On tensors, one-
    shot bufferization writes a destination into the buffer of such an input
    when that input is not used after the op.

    Example:

    ```mlir
    %y = norm.layer_norm axis(1) eps(1.0e-05)
           ins(%x : tensor<?x768xf32>)
           gamma(%g : tensor<768xf32>) beta(%b : tensor<768xf32>)
           outs(%init : tensor<?x768xf32>) -> tensor<?x768xf32>

    %q = norm.layer_norm eps(1.0e-05) ins(%x : tensor<?x768xf32>)
           out_scale(%s : f32) outs(%qinit : tensor<?x768xi8>)
           -> tensor<?x768xi8>

    %q2, %scales = norm.layer_norm eps(1.0e-05) ins(%x : tensor<?x768xf32>)
           outs(%qinit : tensor<?x768xi8>)
           scales(%sinit : tensor<?x6xf32>) group_size(128)
           min_scale(1.0e-06) -> tensor<?x768xi8>, tensor<?x6xf32>
    ```
  }];
  let extraClassDeclaration = extraNormClassDeclaration # [{
    bool isLayerNorm() { return true; }
  }];
}

def Norm_RMSNormOp : Norm_NormalizationOp<"rms_norm", /*isLayerNorm=*/0> {
  let summary = "Root-mean-square normalisation over the trailing dimensions";
  let description = [{
    Normalises each row of `input` over the dimensions `[axis, rank)` (`axis`
    defaults to the last dimension). With `N` the number of normalised
    elements per row and `h = input (+ residual)`:

    ```
    rstd = 1 / sqrt(sum(h^2) / N + eps)
    out  = h * rstd * gamma
    ```

    `gamma` is optional and, when present, shaped like the normalised
    dimensions. The remaining conventions (epsilon, compute type, output
    type, quantised outputs with `out_scale` or dynamic `scales`, the
    optional `residual_out` and `rstd` destinations, destination-passing style, in-place destinations)
    are those of `norm.layer_norm`.

    vLLM's `fused_add_rms_norm`, in place on memrefs:

    ```mlir
    norm.rms_norm eps(1.0e-06) ins(%x : memref<?x4096xbf16>)
      residual(%r : memref<?x4096xbf16>) gamma(%g : memref<4096xbf16>)
      outs(%x : memref<?x4096xbf16>) residual_out(%r : memref<?x4096xbf16>)
    ```

    Example:

    ```mlir
    %y = norm.rms_norm eps(1.0e-06)
           ins(%x : tensor<4x4096xbf16>) gamma(%g : tensor<4096xbf16>)
           outs(%init : tensor<4x4096xbf16>) -> tensor<4x4096xbf16>
    ```
  }];
  let extraClassDeclaration = extraNormClassDeclaration # [{
    bool isLayerNorm() { return false; }
    /// RMSNorm has no shift and no mean.
    ::mlir::Value getBeta() { return {}; }
    ::mlir::Value getMean() { return {}; }
  }];
}

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//

/// Shared definition of the gradient ops. `isLayerNorm` adds the mean
/// operand and the dbeta destination, which RMSNorm does not have.
class Norm_NormalizationGradOp<string mnemonic, bit isLayerNorm>
    : Norm_Op<mnemonic, [
        AttrSizedOperandSegments,
        DestinationStyleOpInterface,
        NormGradOpInterface,
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                  ["reifyResultShapes"]>,
        DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>,
        DeclareOpInterfaceMethods<TilingInterface,
          ["getIterationDomain",
           "getLoopIteratorTypes",
           "getResultTilePosition",
           "getTiledImplementation"]>,
        DeclareOpInterfaceMethods<PartialReductionOpInterface,
          ["generateInitialTensorForPartialReduction",
           "tileToPartialReduction",
           "mergeReductions",
           "getPartialResultTilePosition"]>]> {

  let arguments = !con(
    (ins Norm_Shaped:$input,
         Norm_Shaped:$output_grad,
         Optional<Norm_Shaped>:$gamma),
    !if(isLayerNorm, (ins Optional<Norm_Shaped>:$mean), (ins)),
    (ins Optional<Norm_Shaped>:$rstd,
         Optional<Norm_Shaped>:$residual_grad,
         Optional<AnyFloat>:$eps_value,
         Optional<Norm_Shaped>:$input_grad_init,
         Optional<Norm_Shaped>:$gamma_grad_init),
    !if(isLayerNorm, (ins Optional<Norm_Shaped>:$beta_grad_init), (ins)),
    (ins OptionalAttr<I64Attr>:$axis,
         OptionalAttr<F64Attr>:$epsilon));

  let results = (outs Variadic<AnyRankedTensor>:$results);

  let assemblyFormat = !strconcat([{
    (`axis` `(` $axis^ `)`)?
    custom<Epsilon>($epsilon, $eps_value, type($eps_value))
    `ins` `(` $input `:` type($input) `)`
    `dy` `(` $output_grad `:` type($output_grad) `)`
    (`gamma` `(` $gamma^ `:` type($gamma) `)`)?
  }], !if(isLayerNorm, [{
    (`mean` `(` $mean^ `:` type($mean) `)`)?
  }], ""), [{
    (`rstd` `(` $rstd^ `:` type($rstd) `)`)?
    (`residual_grad` `(` $residual_grad^ `:` type($residual_grad) `)`)?
    `outs`
    (`dx` `(` $input_grad_init^ `:` type($input_grad_init) `)`)?
    (`dgamma` `(` $gamma_grad_init^ `:` type($gamma_grad_init) `)`)?
  }], !if(isLayerNorm, [{
    (`dbeta` `(` $beta_grad_init^ `:` type($beta_grad_init) `)`)?
  }], ""), [{
    attr-dict (`->` type($results)^)?
  }]);

  code extraNormGradClassDeclaration = [{
    /// All destination operands: dx, dgamma and dbeta, those present, in
    /// that order (the order of the results).
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      // The destinations are the trailing operand segments.
      auto segments = getProperties().operandSegmentSizes;
      unsigned numInits = 0;
      for (unsigned i = segments.size() - numGradInitSegments();
           i < segments.size(); ++i)
        numInits += segments[i];
      unsigned first = getOperation()->getNumOperands() - numInits;
      return ::mlir::MutableOperandRange(getOperation(), first, numInits);
    }
  }];

  let hasVerifier = 1;
}

def Norm_LayerNormGradOp
    : Norm_NormalizationGradOp<"layer_norm_grad", /*isLayerNorm=*/1> {
  let summary = "Gradient of norm.layer_norm";
  let description = [{
    The gradients of a LayerNorm over the dimensions `[axis, rank)` of
    `input` (the `h` the forward op normalised, after any residual sum),
    given `dy`, the gradient of its output. With N the number of normalised
    elements per row, `xhat = (x - mean) * rstd` and `wdy = gamma * dy`
    (`dy` without gamma):

    ```
    dx     = rstd * (wdy - mean(wdy) - xhat * mean(wdy * xhat)) (+ dr)
    dgamma = sum over rows of dy * xhat
    dbeta  = sum over rows of dy
    ```

    as PyTorch's `native_layer_norm_backward` defines them. `mean` and `rstd`
    are either both operands (as the forward op's `mean` and `rstd`
    destinations saved them) or both absent, in which case they are
    recomputed from `input` as the forward op computes them, with the
    `eps` that is then required. `residual_grad` (`dr`), shaped like the
    input, is added into dx: the gradient flowing past a pre-norm block.

    Each of `dx`, `dgamma` and `dbeta` is an optional destination, at least
    one present. The sums are accumulated in the compute type (f32, or f64
    for f64) in a fixed order, so that the same input gives the same bits on
    every run, and rounded once into the destination's element type.

    Example:

    ```mlir
    %dx, %dg, %db = norm.layer_norm_grad axis(1)
        ins(%x : tensor<?x768xf32>) dy(%dy : tensor<?x768xf32>)
        gamma(%g : tensor<768xf32>)
        mean(%mean : tensor<?xf32>) rstd(%rstd : tensor<?xf32>)
        outs dx(%dxi : tensor<?x768xf32>) dgamma(%dgi : tensor<768xf32>)
             dbeta(%dbi : tensor<768xf32>)
        -> tensor<?x768xf32>, tensor<768xf32>, tensor<768xf32>
    ```
  }];
  let extraClassDeclaration = extraNormGradClassDeclaration # [{
    bool isLayerNorm() { return true; }
    static unsigned numGradInitSegments() { return 3; }
  }];
}

def Norm_RMSNormGradOp
    : Norm_NormalizationGradOp<"rms_norm_grad", /*isLayerNorm=*/0> {
  let summary = "Gradient of norm.rms_norm";
  let description = [{
    The gradients of an RMSNorm, with `xhat = x * rstd` and `wdy = gamma * dy`:

    ```
    dx     = rstd * (wdy - xhat * mean(wdy * xhat)) (+ dr)
    dgamma = sum over rows of dy * xhat
    ```

    `rstd` is an operand (saved by the forward op) or recomputed from
    `input` with the required `eps`. The remaining conventions are those of
    `norm.layer_norm_grad`.

    Example:

    ```mlir
    %dx = norm.rms_norm_grad eps(1.0e-06)
        ins(%x : tensor<4x4096xbf16>) dy(%dy : tensor<4x4096xbf16>)
        gamma(%g : tensor<4096xbf16>)
        outs dx(%dxi : tensor<4x4096xbf16>) -> tensor<4x4096xbf16>
    ```
  }];
  let extraClassDeclaration = extraNormGradClassDeclaration # [{
    bool isLayerNorm() { return false; }
    static unsigned numGradInitSegments() { return 2; }
    /// RMSNorm has no mean and no dbeta.
    ::mlir::Value getMean() { return {}; }
    ::mlir::Value getBetaGradInit() { return {}; }
  }];
}

#endif // NORM_DIALECT_NORM_IR_NORMOPS_TD
