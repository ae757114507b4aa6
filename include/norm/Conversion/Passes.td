//===- Passes.td - norm conversion passes ------------------*- tablegen -*-===//

#ifndef NORM_CONVERSION_PASSES_TD
#define NORM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNormToLinalg : Pass<"convert-norm-to-linalg"> {
  let summary = "Lower norm ops to linalg.generic (the reference semantics)";
  let description = [{
    Replaces every `norm.layer_norm` and `norm.rms_norm`, on tensors or on
    memrefs, by its decomposition into `linalg.generic`s: a pivoted sum for
    the mean, a centred and scaled sum of squares for the variance (or the
    mean square), then one elementwise generic for the output. f16 and bf16
    are accumulated in f32. This is the semantics every other lowering is
    checked against, and the way into any linalg-based stack.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvertNormToAffine : Pass<"convert-norm-to-affine"> {
  let summary = "Lower norm ops on memrefs to vectorised affine row loops";
  let description = [{
    Replaces every `norm.layer_norm` and `norm.rms_norm` on memrefs by a loop
    over its rows (`affine.parallel`, or `affine.for` when `parallel=false`)
    whose body makes a few sweeps over the row in `vector<W x f32>` (f64:
    `W/2` lanes):

    1. LayerNorm: the pivoted sum `sum(h - h[0])`, giving the mean;
       RMSNorm: the scaled sum of squares `sum((h * c)^2)`, `c = 1/sqrt(N)`.
       This sweep also writes `residual_out` when there is one.
    2. LayerNorm only: the centred, scaled sum of squares
       `sum(((h - mean) * c)^2)`, over the row that sweep 1 left in cache.
    3. The normalise-and-store sweep
       `out = (h - mean) * rstd * gamma + beta`.

    The statistics sweeps keep `unroll` independent vector accumulators and
    reduce them horizontally once per row; every sweep finishes a row whose
    length is not a multiple of `W` with one masked vector. f16 and bf16 are
    extended to f32 on load and rounded once on store. The arithmetic is that
    of `--convert-norm-to-linalg` (pivoted mean, centred and scaled variance,
    NaN rows for non-finite input), so the two agree to rounding.

    Normalised dims that are contiguous in every operand are walked as one;
    otherwise the sweeps nest a loop per normalised dim. A trailing dim with
    a non-unit stride is walked one element at a time. Loops are `affine`
    whenever their bounds are valid affine symbols, `scf` otherwise (e.g. for
    an op nested in an `scf.for` over buffers defined inside it).

    Outputs of at least `nontemporal-threshold` bytes (all rows together)
    are written with non-temporal stores, which bypass the caches: the row
    start is peeled to the vector alignment with one masked store. A large
    output would not stay in cache anyway, and such stores save the
    read-for-ownership of every destination line. They are x86's streaming
    stores, weakly ordered, so the op ends with an `sfence` when it used
    them; on other hosts the threshold is ignored. With `prefetch`, the
    normalise sweep prefetches the next row's input so that its loads overlap
    this row's stores.

    Norm ops on tensors are an error: bufferize them first.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", /*default=*/"0",
           "f32 lanes per vector (0: the host's widest register: 16 with "
           "AVX-512, 8 with AVX2)">,
    Option<"unroll", "unroll", "unsigned", /*default=*/"4",
           "independent vector accumulators in the statistics sweeps">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "emit the row loop as affine.parallel (else affine.for)">,
    Option<"nontemporalThreshold", "nontemporal-threshold", "int64_t",
           /*default=*/"33554432",
           "use non-temporal stores for outputs of at least this many bytes "
           "(default 32 MiB, a last-level cache; -1: never)">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "prefetch the next row's input during the normalise sweep">,
    Option<"prefetchLocality", "prefetch-locality", "unsigned",
           /*default=*/"3",
           "locality hint of those prefetches (3: keep in all cache levels, "
           "down to 0: no temporal locality)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // NORM_CONVERSION_PASSES_TD
