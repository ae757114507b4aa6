// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --allow-uncaptured | FileCheck %s --check-prefix=EQUIV %}

// IREE: the layernorm of tests/e2e/regression/layernorm.mlir (a TOSA
// program and the linalg IREE's input pipeline makes of it), its RMSNorm
// building block (mixed f16 / f32 linalg with a run-time eps), and the
// fused reduction dispatches IREE forms. Their spelling: N and eps as
// full-shape splat tensors ([rows, 1]) rather than scalars, 1/N as a
// reciprocal (tosa.reciprocal, or a `1 / x` generic) of that tensor, then
// multiplied in; collapse_shape of the [rows, 1] constants to [rows];
// centring and squaring fused into the variance reduction; a trailing
// `+ 0.0` where beta was constant-folded. `util.unfoldable_constant` /
// `util.optimization_barrier` inputs (IREE-only) are function arguments here.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}6 passed, 0 failed

// IREE e2e layernorm.mlir, the TOSA input (MLIR 22 syntax): N = 64 and
// eps = 1e-12 are splat [8, 1] constants; the mean and the variance both
// multiply by tosa.reciprocal(N).
// CHECK-LABEL: func @iree_e2e_layernorm_tosa
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-12) ins(%[[X]] : tensor<8x64xf32>) outs(%{{.*}} : tensor<8x64xf32>)
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @iree_e2e_layernorm_tosa(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c64 = "tosa.const"() <{values = dense<6.400000e+01> : tensor<8x1xf32>}> : () -> tensor<8x1xf32>
  %sum = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<8x64xf32>) -> tensor<8x1xf32>
  %r64 = tosa.reciprocal %c64 : (tensor<8x1xf32>) -> tensor<8x1xf32>
  %mean = tosa.mul %sum, %r64, %shift : (tensor<8x1xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x1xf32>
  %x_sub_mean = tosa.sub %x, %mean : (tensor<8x64xf32>, tensor<8x1xf32>) -> tensor<8x64xf32>
  %square = tosa.mul %x_sub_mean, %x_sub_mean, %shift : (tensor<8x64xf32>, tensor<8x64xf32>, tensor<1xi8>) -> tensor<8x64xf32>
  %square_sum = tosa.reduce_sum %square {axis = 1 : i32} : (tensor<8x64xf32>) -> tensor<8x1xf32>
  %variance = tosa.mul %square_sum, %r64, %shift : (tensor<8x1xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x1xf32>
  %epsilon = "tosa.const"() <{values = dense<9.99999996E-13> : tensor<8x1xf32>}> : () -> tensor<8x1xf32>
  %var_eps = tosa.add %variance, %epsilon : (tensor<8x1xf32>, tensor<8x1xf32>) -> tensor<8x1xf32>
  %rsigma = tosa.rsqrt %var_eps : (tensor<8x1xf32>) -> tensor<8x1xf32>
  %norm = tosa.mul %x_sub_mean, %rsigma, %shift : (tensor<8x64xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x64xf32>
  return %norm : tensor<8x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// IREE e2e layernorm.mlir, the linalg form: the [8, 1] N constant inverted
// by a `1 / x` generic and collapsed to [8], centring as `x - sum * (1/N)`,
// the square fused into the reduction, the eps constant collapsed too, and
// `rsqrt(ss * (1/N) + eps)` in the output generic.
// CHECK-LABEL: func @iree_e2e_layernorm_linalg
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-12) ins(%[[X]] : tensor<8x64xf32>) outs(%{{.*}} : tensor<8x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @iree_e2e_layernorm_linalg(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %cst = arith.constant 1.000000e+00 : f32
  %cst_0 = arith.constant 0.000000e+00 : f32
  %cst_2 = arith.constant dense<9.99999996E-13> : tensor<8x1xf32>
  %cst_3 = arith.constant dense<6.400000e+01> : tensor<8x1xf32>
  %2 = tensor.empty() : tensor<8xf32>
  %3 = linalg.fill ins(%cst_0 : f32) outs(%2 : tensor<8xf32>) -> tensor<8xf32>
  %4 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x64xf32>) outs(%3 : tensor<8xf32>) {
  ^bb0(%arg0: f32, %arg1: f32):
    %15 = arith.addf %arg0, %arg1 : f32
    linalg.yield %15 : f32
  } -> tensor<8xf32>
  %5 = tensor.empty() : tensor<8x1xf32>
  %6 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%cst_3 : tensor<8x1xf32>) outs(%5 : tensor<8x1xf32>) {
  ^bb0(%arg0: f32, %arg1: f32):
    %15 = arith.divf %cst, %arg0 : f32
    linalg.yield %15 : f32
  } -> tensor<8x1xf32>
  %7 = tensor.collapse_shape %6 [[0, 1]] : tensor<8x1xf32> into tensor<8xf32>
  %8 = tensor.empty() : tensor<8x64xf32>
  %9 = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %4, %7 : tensor<8x64xf32>, tensor<8xf32>, tensor<8xf32>) outs(%8 : tensor<8x64xf32>) {
  ^bb0(%arg0: f32, %arg1: f32, %arg2: f32, %arg3: f32):
    %15 = arith.mulf %arg1, %arg2 : f32
    %16 = arith.subf %arg0, %15 : f32
    linalg.yield %16 : f32
  } -> tensor<8x64xf32>
  %10 = linalg.fill ins(%cst_0 : f32) outs(%2 : tensor<8xf32>) -> tensor<8xf32>
  %11 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%9 : tensor<8x64xf32>) outs(%10 : tensor<8xf32>) {
  ^bb0(%arg0: f32, %arg1: f32):
    %15 = arith.mulf %arg0, %arg0 : f32
    %16 = arith.addf %15, %arg1 : f32
    linalg.yield %16 : f32
  } -> tensor<8xf32>
  %13 = tensor.collapse_shape %cst_2 [[0, 1]] : tensor<8x1xf32> into tensor<8xf32>
  %14 = linalg.generic {indexing_maps = [#id, #row, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%9, %11, %7, %13 : tensor<8x64xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%8 : tensor<8x64xf32>) {
  ^bb0(%arg0: f32, %arg1: f32, %arg2: f32, %arg3: f32, %arg4: f32):
    %15 = arith.mulf %arg1, %arg2 : f32
    %16 = arith.addf %15, %arg3 : f32
    %17 = math.rsqrt %16 : f32
    %18 = arith.mulf %arg0, %17 : f32
    linalg.yield %18 : f32
  } -> tensor<8x64xf32>
  return %14 : tensor<8x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Near miss. IREE's layernorm_dynamic turned the same program dynamic but
// kept the N = 64 constant: with a dynamic row length, `sum * (1/64)` is a
// mean only when the rows happen to hold 64 elements (here at run time they
// hold 6). Not provably a mean: left alone.
// CHECK-LABEL: func @iree_layernorm_dynamic_cols_fixed_n
// CHECK-NOT: norm.
func.func @iree_layernorm_dynamic_cols_fixed_n(%x: tensor<8x?xf32>) -> tensor<8x?xf32> {
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.000000e+00 : f32
  %cst_0 = arith.constant 0.000000e+00 : f32
  %cst_2 = arith.constant dense<9.99999996E-13> : tensor<8x1xf32>
  %cst_3 = arith.constant dense<6.400000e+01> : tensor<8x1xf32>
  %dim_1 = tensor.dim %x, %c1 : tensor<8x?xf32>
  %2 = tensor.empty() : tensor<8xf32>
  %3 = linalg.fill ins(%cst_0 : f32) outs(%2 : tensor<8xf32>) -> tensor<8xf32>
  %4 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x?xf32>) outs(%3 : tensor<8xf32>) {
  ^bb0(%arg0: f32, %arg1: f32):
    %15 = arith.addf %arg0, %arg1 : f32
    linalg.yield %15 : f32
  } -> tensor<8xf32>
  %5 = tensor.empty() : tensor<8x1xf32>
  %6 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%cst_3 : tensor<8x1xf32>) outs(%5 : tensor<8x1xf32>) {
  ^bb0(%arg0: f32, %arg1: f32):
    %15 = arith.divf %cst, %arg0 : f32
    linalg.yield %15 : f32
  } -> tensor<8x1xf32>
  %7 = tensor.collapse_shape %6 [[0, 1]] : tensor<8x1xf32> into tensor<8xf32>
  %8 = tensor.empty(%dim_1) : tensor<8x?xf32>
  %9 = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %4, %7 : tensor<8x?xf32>, tensor<8xf32>, tensor<8xf32>) outs(%8 : tensor<8x?xf32>) {
  ^bb0(%arg0: f32, %arg1: f32, %arg2: f32, %arg3: f32):
    %15 = arith.mulf %arg1, %arg2 : f32
    %16 = arith.subf %arg0, %15 : f32
    linalg.yield %16 : f32
  } -> tensor<8x?xf32>
  %10 = linalg.fill ins(%cst_0 : f32) outs(%2 : tensor<8xf32>) -> tensor<8xf32>
  %11 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%9 : tensor<8x?xf32>) outs(%10 : tensor<8xf32>) {
  ^bb0(%arg0: f32, %arg1: f32):
    %15 = arith.mulf %arg0, %arg0 : f32
    %16 = arith.addf %15, %arg1 : f32
    linalg.yield %16 : f32
  } -> tensor<8xf32>
  %13 = tensor.collapse_shape %cst_2 [[0, 1]] : tensor<8x1xf32> into tensor<8xf32>
  %14 = linalg.generic {indexing_maps = [#id, #row, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%9, %11, %7, %13 : tensor<8x?xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%8 : tensor<8x?xf32>) {
  ^bb0(%arg0: f32, %arg1: f32, %arg2: f32, %arg3: f32, %arg4: f32):
    %15 = arith.mulf %arg1, %arg2 : f32
    %16 = arith.addf %15, %arg3 : f32
    %17 = math.rsqrt %16 : f32
    %18 = arith.mulf %arg0, %17 : f32
    linalg.yield %18 : f32
  } -> tensor<8x?xf32>
  return %14 : tensor<8x?xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#scalar = affine_map<(d0) -> (d0)>

// IREE's reusable RMS norm component (mixed precision): f16 input, weight
// and output, the sum of squares accumulated in f32 (extf inside the
// reduction), N = sitofp(index_cast(tensor.dim) : i32), eps an f32
// argument, `x / sqrt(mean + eps)`, the weight extended, the result
// truncated to f16.
// CHECK-LABEL: func @iree_rms_norm_component_f16
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf16>, %[[W:.*]]: tensor<?xf16>, %[[EPS:.*]]: f32)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.rms_norm eps(%[[EPS]] : f32) ins(%[[X]] : tensor<?x?xf16>) gamma(%[[W]] : tensor<?xf16>) outs(%{{.*}} : tensor<?x?xf16>) -> tensor<?x?xf16>
// CHECK-NOT: linalg.generic
// CHECK-NOT: math.sqrt
// CHECK: return %[[Y]]
func.func @iree_rms_norm_component_f16(%input: tensor<?x?xf16>, %weight: tensor<?xf16>, %eps: f32) -> tensor<?x?xf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %dim0 = tensor.dim %input, %c0 : tensor<?x?xf16>
  %dim1 = tensor.dim %input, %c1 : tensor<?x?xf16>
  %init_sum = tensor.empty(%dim0) : tensor<?xf32>
  %zero = arith.constant 0.0 : f32
  %sum_init = linalg.fill ins(%zero : f32) outs(%init_sum : tensor<?xf32>) -> tensor<?xf32>
  %sum_sq = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%input : tensor<?x?xf16>) outs(%sum_init : tensor<?xf32>) {
  ^bb0(%in: f16, %acc: f32):
    %in_f32 = arith.extf %in : f16 to f32
    %sq = arith.mulf %in_f32, %in_f32 : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  } -> tensor<?xf32>
  %dim1_i32 = arith.index_cast %dim1 : index to i32
  %dim1_f32 = arith.sitofp %dim1_i32 : i32 to f32
  %rms_init = tensor.empty(%dim0) : tensor<?xf32>
  %rms = linalg.generic {indexing_maps = [#scalar, #scalar], iterator_types = ["parallel"]} ins(%sum_sq : tensor<?xf32>) outs(%rms_init : tensor<?xf32>) {
  ^bb0(%sum: f32, %out: f32):
    %mean = arith.divf %sum, %dim1_f32 : f32
    %with_eps = arith.addf %mean, %eps : f32
    %rms_val = math.sqrt %with_eps : f32
    linalg.yield %rms_val : f32
  } -> tensor<?xf32>
  %output_init = tensor.empty(%dim0, %dim1) : tensor<?x?xf16>
  %output = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%input, %rms, %weight : tensor<?x?xf16>, tensor<?xf32>, tensor<?xf16>) outs(%output_init : tensor<?x?xf16>) {
  ^bb0(%x: f16, %rms_val: f32, %w: f16, %out: f16):
    %x_f32 = arith.extf %x : f16 to f32
    %w_f32 = arith.extf %w : f16 to f32
    %normalized = arith.divf %x_f32, %rms_val : f32
    %scaled = arith.mulf %normalized, %w_f32 : f32
    %result = arith.truncf %scaled : f32 to f16
    linalg.yield %result : f16
  } -> tensor<?x?xf16>
  return %output : tensor<?x?xf16>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// An IREE CPU reduction dispatch of a LayerNorm without affine (from a
// compiled ONNX model): the mean's sum in one reduction, `(x - sum/N)^2`
// fused into the second, `(x - sum/N) * rsqrt(ss/N + eps)` and the folded
// `+ 0.0` of a zero bias in the elementwise consumer. Adding 0.0 changes
// nothing but the sign of a zero: still the LayerNorm, without beta.
// CHECK-LABEL: func @iree_dispatch_layernorm_plus_zero
// CHECK-SAME: (%[[X:.*]]: tensor<7x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<7x64xf32>) outs(%{{.*}} : tensor<7x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @iree_dispatch_layernorm_plus_zero(%x: tensor<7x64xf32>) -> tensor<7x64xf32> {
  %cst = arith.constant 6.400000e+01 : f32
  %cst_0 = arith.constant 9.99999974E-6 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %5 = tensor.empty() : tensor<7x64xf32>
  %6 = tensor.empty() : tensor<7xf32>
  %7 = linalg.fill ins(%cst_1 : f32) outs(%6 : tensor<7xf32>) -> tensor<7xf32>
  %8 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<7x64xf32>) outs(%7 : tensor<7xf32>) {
  ^bb0(%in: f32, %out: f32):
    %11 = arith.addf %in, %out : f32
    linalg.yield %11 : f32
  } -> tensor<7xf32>
  %9 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]} ins(%x, %8 : tensor<7x64xf32>, tensor<7xf32>) outs(%7 : tensor<7xf32>) {
  ^bb0(%in: f32, %in_2: f32, %out: f32):
    %11 = arith.divf %in_2, %cst : f32
    %12 = arith.subf %in, %11 : f32
    %13 = arith.mulf %12, %12 : f32
    %14 = arith.addf %13, %out : f32
    linalg.yield %14 : f32
  } -> tensor<7xf32>
  %10 = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %8, %9 : tensor<7x64xf32>, tensor<7xf32>, tensor<7xf32>) outs(%5 : tensor<7x64xf32>) {
  ^bb0(%in: f32, %in_2: f32, %in_3: f32, %out: f32):
    %11 = arith.divf %in_2, %cst : f32
    %12 = arith.subf %in, %11 : f32
    %13 = arith.divf %in_3, %cst : f32
    %14 = arith.addf %13, %cst_0 : f32
    %15 = math.rsqrt %14 : f32
    %16 = arith.mulf %12, %15 : f32
    %17 = arith.addf %16, %cst_1 : f32
    linalg.yield %17 : f32
  } -> tensor<7x64xf32>
  return %10 : tensor<7x64xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
#row = affine_map<(d0, d1) -> (d0)>

// Near miss. The same IREE dispatch for a channel-first LayerNorm after
// transpose propagation: every op reads the [C = 64, HW = 7] input through
// (d1, d0), normalising its columns into a [7, 64] result. The tensor the
// op would normalise is the transpose of %x, which no value of the program
// holds (the norm op would need one materialised): left alone.
// CHECK-LABEL: func @iree_dispatch_layernorm_read_transposed
// CHECK-NOT: norm.
func.func @iree_dispatch_layernorm_read_transposed(%x: tensor<64x7xf32>) -> tensor<7x64xf32> {
  %cst = arith.constant 6.400000e+01 : f32
  %cst_0 = arith.constant 9.99999974E-6 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %5 = tensor.empty() : tensor<7x64xf32>
  %6 = tensor.empty() : tensor<7xf32>
  %7 = linalg.fill ins(%cst_1 : f32) outs(%6 : tensor<7xf32>) -> tensor<7xf32>
  %8 = linalg.generic {indexing_maps = [#tr, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<64x7xf32>) outs(%7 : tensor<7xf32>) {
  ^bb0(%in: f32, %out: f32):
    %11 = arith.addf %in, %out : f32
    linalg.yield %11 : f32
  } -> tensor<7xf32>
  %9 = linalg.generic {indexing_maps = [#tr, #row, #row], iterator_types = ["parallel", "reduction"]} ins(%x, %8 : tensor<64x7xf32>, tensor<7xf32>) outs(%7 : tensor<7xf32>) {
  ^bb0(%in: f32, %in_2: f32, %out: f32):
    %11 = arith.divf %in_2, %cst : f32
    %12 = arith.subf %in, %11 : f32
    %13 = arith.mulf %12, %12 : f32
    %14 = arith.addf %13, %out : f32
    linalg.yield %14 : f32
  } -> tensor<7xf32>
  %10 = linalg.generic {indexing_maps = [#tr, #row, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %8, %9 : tensor<64x7xf32>, tensor<7xf32>, tensor<7xf32>) outs(%5 : tensor<7x64xf32>) {
  ^bb0(%in: f32, %in_2: f32, %in_3: f32, %out: f32):
    %11 = arith.divf %in_2, %cst : f32
    %12 = arith.subf %in, %11 : f32
    %13 = arith.divf %in_3, %cst : f32
    %14 = arith.addf %13, %cst_0 : f32
    %15 = math.rsqrt %14 : f32
    %16 = arith.mulf %12, %15 : f32
    %17 = arith.addf %16, %cst_1 : f32
    linalg.yield %17 : f32
  } -> tensor<7x64xf32>
  return %10 : tensor<7x64xf32>
}
