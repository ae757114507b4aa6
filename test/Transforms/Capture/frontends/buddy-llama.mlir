// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --allow-uncaptured | FileCheck %s --check-prefix=EQUIV %}

// buddy-mlir: LLaMA / transformer norms as buddy-mlir's dynamo front end
// (frontend/Python/ops/{tosa,linalg}.py) imports them from aot_autograd
// graphs, and as examples/BuddyNext/next-rmsnorm.mlir holds them. Its
// spelling mixes dialects: aten.pow(x, 2) as a linalg.generic with
// math.fpowi (i32 exponent); mean as tosa.reduce_sum times tosa.reciprocal
// of a `tensor<1xf32>` N constant reshaped to rank, reciprocal first
// (_gen_arith_binary_op); scalars such as eps as `arith.constant dense<...>`
// splats of the other operand's full shape (_scalar_to_tensor); var_mean
// with its own N - correction constant; the linalg mean as a generic with
// one loop more than the rank, `acc + x / N`, over a dense<0.0> constant
// init; weights brought to rank with tensor.expand_shape; f16 models
// through tosa.cast and tensor.collapse_shape / expand_shape.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}6 passed, 0 failed

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// buddy-mlir LlamaRMSNorm (next-rmsnorm.mlir, with the weight): fpowi
// generic, tosa.reduce_sum, tosa.reciprocal(64) reshaped to [1, 1, 1] and
// multiplied first, eps a full-shape arith.constant splat, tosa.rsqrt,
// `hidden * rsqrt`, then `weight * hidden` with the weight expand_shape'd.
// CHECK-LABEL: func @buddy_llama_rms_norm_tosa
// CHECK-SAME: (%[[X:.*]]: tensor<1x6x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<1x6x64xf32>) gamma(%[[W]] : tensor<64xf32>) outs(%{{.*}} : tensor<1x6x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @buddy_llama_rms_norm_tosa(%arg0: tensor<1x6x64xf32>, %arg1: tensor<64xf32>) -> tensor<1x6x64xf32> {
  %30 = tensor.empty() : tensor<1x6x64xf32>
  %c2_i32 = arith.constant 2 : i32
  %31 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x6x64xf32>) outs(%30 : tensor<1x6x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %4175 = math.fpowi %in, %c2_i32 : f32, i32
    linalg.yield %4175 : f32
  } -> tensor<1x6x64xf32>
  %32 = tosa.reduce_sum %31 {axis = 2 : i32} : (tensor<1x6x64xf32>) -> tensor<1x6x1xf32>
  %33 = "tosa.const"() <{values = dense<6.400000e+01> : tensor<1xf32>}> : () -> tensor<1xf32>
  %34 = tosa.reciprocal %33 : (tensor<1xf32>) -> tensor<1xf32>
  %s3 = tosa.const_shape {values = dense<1> : tensor<3xindex>} : () -> !tosa.shape<3>
  %35 = tosa.reshape %34, %s3 : (tensor<1xf32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %36 = tosa.mul %35, %32, %shift : (tensor<1x1x1xf32>, tensor<1x6x1xf32>, tensor<1xi8>) -> tensor<1x6x1xf32>
  %37 = arith.constant dense<9.99999997E-7> : tensor<1x6x1xf32>
  %38 = tosa.add %36, %37 : (tensor<1x6x1xf32>, tensor<1x6x1xf32>) -> tensor<1x6x1xf32>
  %39 = tosa.rsqrt %38 : (tensor<1x6x1xf32>) -> tensor<1x6x1xf32>
  %40 = tosa.mul %arg0, %39, %shift : (tensor<1x6x64xf32>, tensor<1x6x1xf32>, tensor<1xi8>) -> tensor<1x6x64xf32>
  %41 = tensor.expand_shape %arg1 [[0, 1, 2]] output_shape [1, 1, 64] : tensor<64xf32> into tensor<1x1x64xf32>
  %42 = tosa.mul %41, %40, %shift : (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1xi8>) -> tensor<1x6x64xf32>
  return %42 : tensor<1x6x64xf32>
}

// -----
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#in4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#out4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>

// buddy-mlir's linalg.py lowering of the same RMSNorm: mean_op builds a
// generic with one loop more than the rank (d3, a unit loop of the keepdim
// output, read as (d0, d1, d3)), reduces d2 as `x / 64 + acc`, into a
// dense<0.0> constant; add_op and mul_op are TOSA; rsqrt_op a generic.
// CHECK-LABEL: func @buddy_llama_rms_norm_linalg_mean
// CHECK-SAME: (%[[X:.*]]: tensor<1x6x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tosa.add
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<1x6x64xf32>) gamma(%[[W]] : tensor<64xf32>) outs(%{{.*}} : tensor<1x6x64xf32>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @buddy_llama_rms_norm_linalg_mean(%arg0: tensor<1x6x64xf32>, %arg1: tensor<64xf32>) -> tensor<1x6x64xf32> {
  %c2_i32 = arith.constant 2 : i32
  %0 = tensor.empty() : tensor<1x6x64xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x6x64xf32>) outs(%0 : tensor<1x6x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %p = math.fpowi %in, %c2_i32 : f32, i32
    linalg.yield %p : f32
  } -> tensor<1x6x64xf32>
  %cst = arith.constant dense<0.000000e+00> : tensor<1x6x1xf32>
  %2 = linalg.generic {indexing_maps = [#in4, #out4], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%1 : tensor<1x6x64xf32>) outs(%cst : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %cst_64 = arith.constant 6.400000e+01 : f32
    %d = arith.divf %in, %cst_64 : f32
    %a = arith.addf %d, %out : f32
    linalg.yield %a : f32
  } -> tensor<1x6x1xf32>
  %cst_eps = arith.constant dense<9.99999997E-7> : tensor<1x1x1xf32>
  %3 = tosa.add %2, %cst_eps : (tensor<1x6x1xf32>, tensor<1x1x1xf32>) -> tensor<1x6x1xf32>
  %4 = tensor.empty() : tensor<1x6x1xf32>
  %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%3 : tensor<1x6x1xf32>) outs(%4 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.rsqrt %in : f32
    linalg.yield %r : f32
  } -> tensor<1x6x1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %6 = tosa.mul %arg0, %5, %shift : (tensor<1x6x64xf32>, tensor<1x6x1xf32>, tensor<1xi8>) -> tensor<1x6x64xf32>
  %7 = tensor.expand_shape %arg1 [[0, 1, 2]] output_shape [1, 1, 64] : tensor<64xf32> into tensor<1x1x64xf32>
  %8 = tosa.mul %7, %6, %shift : (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1xi8>) -> tensor<1x6x64xf32>
  return %8 : tensor<1x6x64xf32>
}

// -----

// buddy-mlir LayerNorm from aot_autograd's native_layer_norm decomposition:
// var_mean(x, [2], correction=0, keepdim=True) (tosa.py var_mean_op: the
// mean with its reciprocal(N), the variance with a second reciprocal of
// N - correction = N), add(var, eps) with a splat, rsqrt, sub(x, mean)
// again, mul, mul weight, add bias.
// CHECK-LABEL: func @buddy_var_mean_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x32xf32>, %[[W:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x4x32xf32>) gamma(%[[W]] : tensor<32xf32>) beta(%[[B]] : tensor<32xf32>) outs(%{{.*}} : tensor<2x4x32xf32>)
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @buddy_var_mean_layer_norm(%x: tensor<2x4x32xf32>, %w: tensor<32xf32>, %b: tensor<32xf32>) -> tensor<2x4x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s3 = tosa.const_shape {values = dense<1> : tensor<3xindex>} : () -> !tosa.shape<3>
  %0 = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x4x32xf32>) -> tensor<2x4x1xf32>
  %1 = "tosa.const"() <{values = dense<3.200000e+01> : tensor<1xf32>}> : () -> tensor<1xf32>
  %2 = tosa.reciprocal %1 : (tensor<1xf32>) -> tensor<1xf32>
  %3 = tosa.reshape %2, %s3 : (tensor<1xf32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %mean = tosa.mul %3, %0, %shift : (tensor<1x1x1xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %4 = tosa.sub %x, %mean : (tensor<2x4x32xf32>, tensor<2x4x1xf32>) -> tensor<2x4x32xf32>
  %5 = tosa.mul %4, %4, %shift : (tensor<2x4x32xf32>, tensor<2x4x32xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  %6 = tosa.reduce_sum %5 {axis = 2 : i32} : (tensor<2x4x32xf32>) -> tensor<2x4x1xf32>
  %7 = "tosa.const"() <{values = dense<3.200000e+01> : tensor<1xf32>}> : () -> tensor<1xf32>
  %8 = tosa.reciprocal %7 : (tensor<1xf32>) -> tensor<1xf32>
  %9 = tosa.reshape %8, %s3 : (tensor<1xf32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %var = tosa.mul %9, %6, %shift : (tensor<1x1x1xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %eps = arith.constant dense<9.99999974E-6> : tensor<2x4x1xf32>
  %10 = tosa.add %var, %eps : (tensor<2x4x1xf32>, tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %11 = tosa.rsqrt %10 : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %12 = tosa.sub %x, %mean : (tensor<2x4x32xf32>, tensor<2x4x1xf32>) -> tensor<2x4x32xf32>
  %13 = tosa.mul %12, %11, %shift : (tensor<2x4x32xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  %ws = tosa.const_shape {values = dense<[1, 1, 32]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %w3 = tosa.reshape %w, %ws : (tensor<32xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %b3 = tosa.reshape %b, %ws : (tensor<32xf32>, !tosa.shape<3>) -> tensor<1x1x32xf32>
  %14 = tosa.mul %13, %w3, %shift : (tensor<2x4x32xf32>, tensor<1x1x32xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  %15 = tosa.add %14, %b3 : (tensor<2x4x32xf32>, tensor<1x1x32xf32>) -> tensor<2x4x32xf32>
  return %15 : tensor<2x4x32xf32>
}

// -----

// buddy-mlir LlamaRMSNorm on an f16 model: tosa.cast to f32, pow via
// tosa.pow with a dense<2.0> arith.constant, `/ 64` as a multiply by a
// full-shape 1/64 splat, eps a full-shape splat, rsqrt, tosa.cast back to
// f16, the f16 weight expand_shape'd to [1, 1, 64] and multiplied first.
// CHECK-LABEL: func @buddy_llama_rms_norm_f16
// CHECK-SAME: (%[[X:.*]]: tensor<1x6x64xf16>, %[[W:.*]]: tensor<64xf16>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<1x6x64xf16>) gamma(%[[W]] : tensor<64xf16>) outs(%{{.*}} : tensor<1x6x64xf16>) -> tensor<1x6x64xf16>
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @buddy_llama_rms_norm_f16(%x: tensor<1x6x64xf16>, %w: tensor<64xf16>) -> tensor<1x6x64xf16> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %0 = tosa.cast %x : (tensor<1x6x64xf16>) -> tensor<1x6x64xf32>
  %two = arith.constant dense<2.000000e+00> : tensor<1x1x1xf32>
  %2 = tosa.pow %0, %two : (tensor<1x6x64xf32>, tensor<1x1x1xf32>) -> tensor<1x6x64xf32>
  %3 = tosa.reduce_sum %2 {axis = 2 : i32} : (tensor<1x6x64xf32>) -> tensor<1x6x1xf32>
  %inv = arith.constant dense<1.562500e-02> : tensor<1x6x1xf32>
  %4 = tosa.mul %3, %inv, %shift : (tensor<1x6x1xf32>, tensor<1x6x1xf32>, tensor<1xi8>) -> tensor<1x6x1xf32>
  %eps = arith.constant dense<9.99999997E-7> : tensor<1x6x1xf32>
  %5 = tosa.add %4, %eps : (tensor<1x6x1xf32>, tensor<1x6x1xf32>) -> tensor<1x6x1xf32>
  %6 = tosa.rsqrt %5 : (tensor<1x6x1xf32>) -> tensor<1x6x1xf32>
  %7 = tosa.mul %0, %6, %shift : (tensor<1x6x64xf32>, tensor<1x6x1xf32>, tensor<1xi8>) -> tensor<1x6x64xf32>
  %8 = tosa.cast %7 : (tensor<1x6x64xf32>) -> tensor<1x6x64xf16>
  %10 = tensor.expand_shape %w [[0, 1, 2]] output_shape [1, 1, 64] : tensor<64xf16> into tensor<1x1x64xf16>
  %11 = tosa.mul %10, %8, %shift : (tensor<1x1x64xf16>, tensor<1x6x64xf16>, tensor<1xi8>) -> tensor<1x6x64xf16>
  return %11 : tensor<1x6x64xf16>
}

// -----

// Near miss. The same buddy var_mean with torch.var_mean's default
// correction=1: the variance multiplies by reciprocal(N - 1) = 1/31. An
// unbiased variance is not the norm op's: left alone.
// CHECK-LABEL: func @buddy_var_mean_unbiased_layer_norm
// CHECK-NOT: norm.
func.func @buddy_var_mean_unbiased_layer_norm(%x: tensor<2x4x32xf32>) -> tensor<2x4x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s3 = tosa.const_shape {values = dense<1> : tensor<3xindex>} : () -> !tosa.shape<3>
  %0 = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x4x32xf32>) -> tensor<2x4x1xf32>
  %1 = "tosa.const"() <{values = dense<3.200000e+01> : tensor<1xf32>}> : () -> tensor<1xf32>
  %2 = tosa.reciprocal %1 : (tensor<1xf32>) -> tensor<1xf32>
  %3 = tosa.reshape %2, %s3 : (tensor<1xf32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %mean = tosa.mul %3, %0, %shift : (tensor<1x1x1xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %4 = tosa.sub %x, %mean : (tensor<2x4x32xf32>, tensor<2x4x1xf32>) -> tensor<2x4x32xf32>
  %5 = tosa.mul %4, %4, %shift : (tensor<2x4x32xf32>, tensor<2x4x32xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  %6 = tosa.reduce_sum %5 {axis = 2 : i32} : (tensor<2x4x32xf32>) -> tensor<2x4x1xf32>
  %7 = "tosa.const"() <{values = dense<3.100000e+01> : tensor<1xf32>}> : () -> tensor<1xf32>
  %8 = tosa.reciprocal %7 : (tensor<1xf32>) -> tensor<1xf32>
  %9 = tosa.reshape %8, %s3 : (tensor<1xf32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %var = tosa.mul %9, %6, %shift : (tensor<1x1x1xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x1xf32>
  %eps = arith.constant dense<9.99999974E-6> : tensor<2x4x1xf32>
  %10 = tosa.add %var, %eps : (tensor<2x4x1xf32>, tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %11 = tosa.rsqrt %10 : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %12 = tosa.sub %x, %mean : (tensor<2x4x32xf32>, tensor<2x4x1xf32>) -> tensor<2x4x32xf32>
  %13 = tosa.mul %12, %11, %shift : (tensor<2x4x32xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x32xf32>
  return %13 : tensor<2x4x32xf32>
}

// -----
// buddy-mlir LlamaRMSNorm on an f16 model (buddy-llama.mlir front end): tosa.cast to f32, the [1, 6, 64]
// activation collapsed to [6, 64], pow via tosa.pow with a dense<2.0>
// arith.constant, `/ 64` as a multiply by a full-shape 1/64 splat, eps a
// full-shape splat, rsqrt, tosa.cast back to f16, expand_shape to
// [1, 6, 64], the f16 weight expand_shape'd to [1, 1, 64].
// The f32 copy is what the norm op reads (exact; the op computes in f32).
// CHECK-LABEL: func @buddy_llama_rms_norm_f16_collapsed
// CHECK: norm.rms_norm eps(1.0e-06)
// CHECK-NOT: tosa.rsqrt
// CHECK: return
func.func @buddy_llama_rms_norm_f16_collapsed(%x: tensor<1x6x64xf16>, %w: tensor<64xf16>) -> tensor<1x6x64xf16> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %0 = tosa.cast %x : (tensor<1x6x64xf16>) -> tensor<1x6x64xf32>
  %1 = tensor.collapse_shape %0 [[0, 1], [2]] : tensor<1x6x64xf32> into tensor<6x64xf32>
  %two = arith.constant dense<2.000000e+00> : tensor<1x1xf32>
  %2 = tosa.pow %1, %two : (tensor<6x64xf32>, tensor<1x1xf32>) -> tensor<6x64xf32>
  %3 = tosa.reduce_sum %2 {axis = 1 : i32} : (tensor<6x64xf32>) -> tensor<6x1xf32>
  %inv = arith.constant dense<1.562500e-02> : tensor<6x1xf32>
  %4 = tosa.mul %3, %inv, %shift : (tensor<6x1xf32>, tensor<6x1xf32>, tensor<1xi8>) -> tensor<6x1xf32>
  %eps = arith.constant dense<9.99999997E-7> : tensor<6x1xf32>
  %5 = tosa.add %4, %eps : (tensor<6x1xf32>, tensor<6x1xf32>) -> tensor<6x1xf32>
  %6 = tosa.rsqrt %5 : (tensor<6x1xf32>) -> tensor<6x1xf32>
  %7 = tosa.mul %1, %6, %shift : (tensor<6x64xf32>, tensor<6x1xf32>, tensor<1xi8>) -> tensor<6x64xf32>
  %8 = tosa.cast %7 : (tensor<6x64xf32>) -> tensor<6x64xf16>
  %9 = tensor.expand_shape %8 [[0, 1], [2]] output_shape [1, 6, 64] : tensor<6x64xf16> into tensor<1x6x64xf16>
  %10 = tensor.expand_shape %w [[0, 1, 2]] output_shape [1, 1, 64] : tensor<64xf16> into tensor<1x1x64xf16>
  %11 = tosa.mul %10, %9, %shift : (tensor<1x1x64xf16>, tensor<1x6x64xf16>, tensor<1xi8>) -> tensor<1x6x64xf16>
  return %11 : tensor<1x6x64xf16>
}
