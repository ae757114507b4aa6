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

def ConvertNormToGPU : Pass<"convert-norm-to-gpu"> {
  let summary = "Lower norm ops on memrefs to gpu.launch kernels";
  let description = [{
    Replaces every `norm.layer_norm` and `norm.rms_norm` on memrefs by a
    `gpu.launch` in which a group of threads (several warps, one warp, or
    part of a warp, chosen from the row length N) normalises one row:

    * each thread loads its share of the row with vector loads of up to 128
      bits (`vector<4xf32>`, `vector<8xf16>`, `vector<8xbf16>`) when N and
      the buffers' layouts allow it, scalar loads otherwise, and keeps it in
      registers, so every input element is read from global memory once;
    * statistics are accumulated in f32 (f64 for f64) as the reference
      computes them: a sum of the elements minus a pivot (the first element
      of each warp's part, rebased across warps), then the sum of the
      squared centred values, scaled by 1/sqrt(N), over the same registers;
      each sum goes through a `gpu.shuffle xor` butterfly within a warp and
      through workgroup memory (one barrier) across the warps of a row;
    * the row is normalised from registers, gamma and beta are applied, and
      the result is stored with vector stores.

    The semantics are those of `--convert-norm-to-linalg`: a constant row
    gives exactly beta, squares are scaled by 1/sqrt(N) before summing so
    that |x| up to ~1e19 does not overflow in f32, and an infinite mean
    square makes the row NaN. The residual sum, `residual_out`, `mean` and
    `rstd` are supported; rank > 2 inputs are collapsed to rows x N.
    Quantised outputs (`i8`, `f8E4M3FN` with an `out_scale`, passed to the
    kernel as an argument in the compute type) are quantised lane by lane as
    the reference does, and the V lanes of a vector stored at once.

    Rows too long to be held in registers, and rows of dynamic length, are
    streamed instead: for the sum, the sum of squares and the output (the
    later reads usually hit the cache).

    The vector path assumes that each buffer's aligned base pointer is
    16-byte aligned, as `cudaMalloc` and PyTorch guarantee; use
    `vector-width=1` for buffers that are not.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"0",
           "Threads per block, a multiple of 32 up to 1024 (0: chosen from N)">,
    Option<"rowsPerBlock", "rows-per-block", "int64_t", /*default=*/"0",
           "Rows handled by one block; block-size / rows-per-block threads "
           "share a row and must be a power of two up to 32 or a multiple of "
           "32 (0: chosen from N)">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "Largest number of elements per load and store, a power of two up "
           "to 16 (0: 128 bits' worth)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def NormGPUSqrtToLLVM : Pass<"norm-gpu-sqrt-to-llvm", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Lower math.sqrt/math.rsqrt/math.roundeven/math.absf/math.fma "
                "in GPU modules to LLVM intrinsics";
  let description = [{
    `convert-gpu-to-nvvm` turns `math.sqrt` and `math.rsqrt` into calls to
    libdevice (`__nv_sqrtf`, `__nv_rsqrtf`), which leave unresolved externs
    in the PTX unless a CUDA toolkit's libdevice is found when serialising.
    This pass, run on `gpu.module`s before it, rewrites them (f32 and f64)
    into calls of the `llvm.sqrt` intrinsic (and a division for rsqrt),
    which NVPTX emits as the correctly rounded `sqrt.rn`. `math.roundeven`
    (libdevice's `__nv_rintf`; the rounding of i8 quantised outputs) becomes
    the `llvm.roundeven` intrinsic, emitted as `cvt.rni`, and `math.absf`
    (`__nv_fabsf`; dynamic quantisation's amax) `llvm.fabs`, emitted as
    `abs.f32`, and `math.fma` (`__nv_fmaf`) `llvm.fma`, emitted as `fma.rn`.
    An f32 `math.rsqrt` with the `afn` fast-math flag (the kernels' rstd)
    becomes `llvm.nvvm.rsqrt.approx.f`, emitted as `rsqrt.approx.f32`: one
    instruction, within 2 ulp. Kernels then need
    nothing but LLVM.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

def NormGPUDeviceBuffers : Pass<"norm-gpu-device-buffers", "::mlir::func::FuncOp"> {
  let summary = "Put the buffers of functions that launch GPU kernels in GPU "
                "memory";
  let description = [{
    Bufferizing a function on tensors allocates its results (and any
    temporaries) with `memref.alloc`, which is host memory, and copies with
    `memref.copy`, a host memcpy: neither works for a kernel. In every
    function that contains a `gpu.launch` or `gpu.launch_func`, this pass
    turns `memref.alloc` into `gpu.alloc`, `memref.dealloc` into
    `gpu.dealloc` and `memref.copy` into `gpu.memcpy`, so that the function
    (whose memref arguments are taken to be device memory) works on device
    memory throughout. A constant from `memref.get_global` is host memory
    and is refused with a diagnostic, as are copies gpu.memcpy cannot do.
    In any function, a linalg op left in host code is refused too: the GPU
    pipeline has no lowering for it.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def NormGPUCallerStreams : Pass<"norm-gpu-caller-streams", "::mlir::ModuleOp"> {
  let summary = "Launch on the caller's CUDA stream where a function takes "
                "one; elsewhere, one stream per call (gpu-async-region)";
  let description = [{
    A function with an argument of type `!gpu.async.token` is given its
    caller's stream through it (a `CUstream`: the token lowers to
    `!llvm.ptr`). Every GPU operation in it (`gpu.launch_func`, `gpu.alloc`,
    `gpu.dealloc`, `gpu.memcpy`, `gpu.memset`) becomes asynchronous on that
    stream, in program order, and nothing waits: the call creates no stream
    and does not synchronise, as a serving engine calling a kernel
    thousands of times a second on its own stream needs. A call from such a
    function to one that launches kernels (a kernel outlined by
    `norm-outline-kernels`) goes to a copy of the callee taking the stream
    as a trailing argument.

    Every other function is left to upstream's `gpu-async-region`: a stream
    created, the operations on it, and a synchronisation and destruction of
    the stream before the function returns.

    A function taking more than one token, or whose GPU operations are
    already asynchronous with dependencies of their own, is refused with a
    diagnostic.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::func::FuncDialect"];
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

    With `one-pass-variance` (the default), LayerNorm's sweep 1 also sums
    `((h - h[0]) * c)^2`, and the variance is taken from the two pivoted
    sums, `sum(((h - p) c)^2) - (mean - p)^2`, when that subtraction loses
    at most 4 bits (the pivot within ~3.9 standard deviations of the mean;
    always for a constant row): then sweep 2 is skipped. Otherwise, and for
    NaN, sweep 2 runs as above.

    The statistics sweeps keep `unroll` independent vector accumulators and
    reduce them horizontally once per row (over a row whose length is known
    only at run time, which LLVM cannot unroll whole, a sum of squares keeps
    up to 4x `unroll`, within half the vector registers); every sweep finishes a row whose
    length is not a multiple of `W` with one masked vector. f16 and bf16 are
    extended to f32 on load and rounded once on store. The arithmetic is that
    of `--convert-norm-to-linalg` (pivoted mean, centred and scaled variance,
    NaN rows for non-finite input), so the two agree to rounding (to a few
    more ulps of the variance when it comes from one pass).

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

    The gradient ops (`norm.layer_norm_grad`, `norm.rms_norm_grad`) on
    memrefs become a row kernel (GradientLoops.cpp): blocks of rows in
    parallel, a sweep for the row sums, a sweep for dx (with `prefetch`, it
    prefetches x and dy of the next group of rows), and dgamma/dbeta from
    per-block partial rows summed in a fixed order. Layouts that cannot be
    viewed as rows x N take the affine loops of the linalg decomposition.

    Norm ops on tensors are an error: bufferize them first.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", /*default=*/"0",
           "f32 lanes per vector (0: the host's widest register: 16 with "
           "AVX-512, 8 with AVX2)">,
    Option<"unroll", "unroll", "unsigned", /*default=*/"4",
           "independent vector accumulators in the statistics sweeps (a sum "
           "of squares over a row length known only at run time keeps up "
           "to 4x as many, within half the vector registers)">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "emit the row loop as affine.parallel (else affine.for)">,
    Option<"parallelThreshold", "parallel-threshold", "int64_t",
           /*default=*/"131072",
           "run rows in parallel only for ops whose input has at least this "
           "many bytes (decided per call for dynamic shapes; 0: always)">,
    Option<"nontemporalThreshold", "nontemporal-threshold", "int64_t",
           /*default=*/"33554432",
           "use non-temporal stores for outputs of at least this many bytes "
           "(default 32 MiB, a last-level cache; -1: never)">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "prefetch the next row's input during the normalise sweep">,
    Option<"onePassVariance", "one-pass-variance", "bool",
           /*default=*/"true",
           "LayerNorm: take the variance from sweep 1's pivoted sums when "
           "that is accurate, and make the centred sweep only otherwise">,
    Option<"prefetchLocality", "prefetch-locality", "unsigned",
           /*default=*/"3",
           "locality hint of those prefetches (3: keep in all cache levels, "
           "down to 0: no temporal locality)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // NORM_CONVERSION_PASSES_TD
