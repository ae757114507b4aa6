//===- Passes.td - norm transformation passes --------------*- tablegen -*-===//

#ifndef NORM_TRANSFORMS_PASSES_TD
#define NORM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NormExpandFp8Casts : Pass<"norm-expand-fp8-casts"> {
  let summary = "Expand arith.truncf to f8E4M3FN into integer arithmetic";
  let description = [{
    LLVM has no 8-bit float types, and MLIR's arith-to-LLVM conversion leaves
    `arith.truncf` to `f8E4M3FN` unconverted. This pass rewrites each such
    truncation (from f16, bf16, f32 or f64; scalars or vectors) into integer
    arithmetic on the source's bits with the same result as the constant
    folder: round to nearest even, NaN for NaN and for magnitudes that round
    above 448 (the format has no infinity). Quantised norm outputs saturate
    before they truncate, so they never reach the NaN case.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def NormFuse : Pass<"norm-fuse"> {
  let summary = "Absorb residual adds, scale/shift, casts, quantisation and "
                "statistics into norm ops";
  let description = [{
    Rewrites, on tensors, the ops around `norm.layer_norm` / `norm.rms_norm`
    into the op's fused forms:

    - an elementwise add producing the input becomes the `residual` operand
      (its other users read the op's `residual_out` result);
    - a following multiply by a weight broadcast along the rows becomes (or
      composes with) `gamma`, and a following add of one becomes (or
      composes with) `beta` (LayerNorm);
    - a following `arith.truncf` / `tosa.cast` / truncating `linalg.generic`
      from the compute type becomes the output type, and a following
      per-tensor scale-round-clamp-convert chain becomes an `i8` or
      `f8E4M3FN` output with `out_scale`;
    - a following dynamic quantisation (the abs-max of each row, its scale
      `min(max(amax / qmax, floor), ub)`, the quantisation by it) becomes a
      quantised output with a `scales` result; per group when it reads the
      output viewed as `[rows, N/G, G]` (a `tensor.expand_shape` of the
      normalised dim), with `group_size(G)`;
    - a mean or rstd of the same input computed by another chain becomes
      the op's `mean` / `rstd` result.

    Elementwise ops may be `arith` ops on tensors, any `linalg` structured
    op whose body is that one operation, or `tosa` ops. Anything that would
    change what is computed is left alone (an add that broadcasts, a
    multiply that is not a row broadcast, a rounding other than to nearest
    even, a clamp to another range, ...); what fusion may change is
    rounding, since the fused op rounds once, at the end.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def NormCapture : Pass<"norm-capture"> {
  let summary = "Recognise decomposed LayerNorm / RMSNorm and replace them "
                "by norm ops";
  let description = [{
    Finds LayerNorm and RMSNorm written as chains of reductions and
    elementwise ops on tensors (`linalg.generic` chains, fused or not; linalg
    named ops; TOSA; arith/math on tensors; and mixtures of these) and
    replaces the chain's final value by one `norm.layer_norm` or
    `norm.rms_norm`. Chains of linalg ops on memrefs (statistics in
    `memref.alloc` buffers, written in place) are captured into the memref
    form of the op when nothing can write the buffers they read between the
    chain's reads and its final op. A capture proves the math first: the reduced dims are
    the normalised trailing dims, the divisor is their size, epsilon sits
    inside the square root, and the mean subtracted is the mean of the
    tensor being normalised. Intermediate values with other users keep
    their producers. The new op carries a fused location of the ops it
    replaces.

    Every spelling is translated into one small expression view first (see
    docs/Capture.md for the list of spellings supported and not supported).

    The arithmetic type of the statistics is part of what a chain computes.
    The op computes its statistics (sums, mean, variance, eps, root) in f32
    or wider; a chain that computes any of them in a narrower type (an f16
    sum of squares, an rsqrt in bf16) is a different function, and is left
    alone, with a remark at its final op naming the narrow op. With
    `widen-statistics`, such chains are captured anyway, a deliberate
    numerical change, and each such capture says so in a remark.

    With `report`, each capture emits a remark at the location of the
    chain's final op. Captures are also reported through MLIR's remark
    engine (category `norm-capture`, e.g. `--remarks-filter=norm-capture`).
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark for every captured norm">,
    Option<"widenStatistics", "widen-statistics", "bool", /*default=*/"false",
           "Capture chains whose statistics are computed in a type narrower "
           "than f32, computing them in f32 (changes the numbers)">,
  ];
  let dependentDialects = [
    "::mlir::memref::MemRefDialect",
    "::mlir::norm::NormDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

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

def NormCheckHostMemorySpaces
    : Pass<"norm-check-host-memory-spaces", "::mlir::ModuleOp"> {
  let summary = "Report memrefs that host code cannot address (a memory "
                "space other than the default or an integer)";
  let description = [{
    The first pass of `norm-cpu-pipeline`. Host code addresses memory in the
    default memory space or in numbered LLVM address spaces; a memref in any
    other (e.g. `#gpu.address_space<workgroup>`) has no meaning on the CPU.
    Left to the LLVM conversions, such a type makes them print an error
    without a location and still succeed. This pass instead reports each
    one at the function, argument or op that carries it, and fails. With
    `allow-gpu-address-spaces` (the GPU pipeline's host code), the GPU
    dialect's address spaces are accepted too: its conversions map them.
  }];
  let options = [
    Option<"allowGpuAddressSpaces", "allow-gpu-address-spaces", "bool",
           /*default=*/"false",
           "Accept #gpu.address_space<...> (mapped by the GPU conversions)">,
  ];
}

def NormOutlineKernels : Pass<"norm-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Move norm ops into one private function per distinct "
                "signature, called where each op was";
  let description = [{
    Replaces each norm op in the module's `func.func`s by a `func.call` to a
    private function (`__norm_kernel_<op>_<i>`) whose body is that op alone,
    on the function's arguments. Ops with the same signature (op name,
    operand and result types, so shapes, dynamic dims, layouts and memory
    spaces, and properties and attributes, so eps, axis, quantisation and
    which fused clauses are present) share one function, so that a later
    lowering emits each distinct kernel once however often it occurs:
    compile time grows with the number of signatures, not of occurrences.
    The lowering of the op inside the function is the one it would have had
    in place, since the function sees exactly the op's types.

    Signatures occurring fewer than `min-occurrences` times stay where they
    are (the pipelines use 2: a kernel used once gains nothing from a call,
    and keeps its place, its name and, on the GPU, its kernel's name). Each
    call carries the unit attribute `norm.kernel_call`, which
    `--norm-gpu-device-buffers` reads as "this function launches kernels".

    The functions are private to the module, and `llvm.linkage` internal
    says so to the LLVM conversion (which otherwise gives every definition
    external linkage): two modules compiled apart, each with its
    `__norm_kernel_layer_norm`, link into one program.
  }];
  let options = [
    Option<"minOccurrences", "min-occurrences", "unsigned", /*default=*/"1",
           "Outline the signatures that occur at least this many times">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

#endif // NORM_TRANSFORMS_PASSES_TD
