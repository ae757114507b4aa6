// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --allow-uncaptured | FileCheck %s --check-prefix=EQUIV %}

// torch-mlir, TorchToTosa (MLIR 22 TOSA syntax). Its spelling:
// aten.native_layer_norm has a direct lowering (ConvertAtenOp<
// AtenNativeLayerNormOp>): one keepdim tosa.reduce_sum per normalised axis,
// last axis first, then a tosa.reshape to the same shape; 1/N as
// tosa.reciprocal of a `tensor<1xf32>` constant N reshaped to rank
// (EqualizeRanks); eps a rank-0 `tensor<f32>` constant reshaped to rank;
// `tosa.sub(x, mean)` emitted twice (once for the variance, once in
// computeBatchNorm); weight and bias reshaped to [1, ...]. Decomposed ops
// (aten.rms_norm -> square, mean.dim, add.Scalar, rsqrt, mul) go through
// convertReduceMeanOp (reduce_sum times a 1/N constant), add.Scalar
// multiplies the scalar by an alpha constant first, aten.pow.Tensor_Scalar
// becomes tosa.pow, dtype conversions tosa.cast. Every tosa.mul carries its
// shift operand. Function arguments stand for the to_builtin_tensor values.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}4 passed, 0 failed

// torch-mlir's direct TOSA lowering of aten.native_layer_norm with
// normalized_shape [2, 4, 4] on a [3, 2, 4, 4] input: three reduce_sums,
// reshapes to the same shape, the reciprocal of N = 32, the duplicated sub.
// CHECK-LABEL: func @torch_tosa_native_layer_norm_three_dims
// CHECK-SAME: (%[[X:.*]]: tensor<3x2x4x4xf32>, %[[W:.*]]: tensor<2x4x4xf32>, %[[B:.*]]: tensor<2x4x4xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[Y:.*]] = norm.layer_norm axis(1) eps(1.0e-05) ins(%[[X]] : tensor<3x2x4x4xf32>) gamma(%[[W]] : tensor<2x4x4xf32>) beta(%[[B]] : tensor<2x4x4xf32>) outs(%{{.*}} : tensor<3x2x4x4xf32>)
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @torch_tosa_native_layer_norm_three_dims(%x: tensor<3x2x4x4xf32>, %w: tensor<2x4x4xf32>, %b: tensor<2x4x4xf32>) -> tensor<3x2x4x4xf32> {
  %0 = "tosa.const"() <{values = dense<3.200000e+01> : tensor<1xf32>}> : () -> tensor<1xf32>
  %1 = tosa.reciprocal %0 : (tensor<1xf32>) -> tensor<1xf32>
  %2 = tosa.const_shape {values = dense<1> : tensor<4xindex>} : () -> !tosa.shape<4>
  %3 = tosa.reshape %1, %2 : (tensor<1xf32>, !tosa.shape<4>) -> tensor<1x1x1x1xf32>
  %4 = tosa.reduce_sum %x {axis = 3 : i32} : (tensor<3x2x4x4xf32>) -> tensor<3x2x4x1xf32>
  %5 = tosa.reduce_sum %4 {axis = 2 : i32} : (tensor<3x2x4x1xf32>) -> tensor<3x2x1x1xf32>
  %6 = tosa.reduce_sum %5 {axis = 1 : i32} : (tensor<3x2x1x1xf32>) -> tensor<3x1x1x1xf32>
  %7 = tosa.const_shape {values = dense<[3, 1, 1, 1]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %8 = tosa.reshape %6, %7 : (tensor<3x1x1x1xf32>, !tosa.shape<4>) -> tensor<3x1x1x1xf32>
  %9 = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %10 = tosa.mul %8, %3, %9 : (tensor<3x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<3x1x1x1xf32>
  %11 = tosa.sub %x, %10 : (tensor<3x2x4x4xf32>, tensor<3x1x1x1xf32>) -> tensor<3x2x4x4xf32>
  %12 = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %13 = tosa.mul %11, %11, %12 : (tensor<3x2x4x4xf32>, tensor<3x2x4x4xf32>, tensor<1xi8>) -> tensor<3x2x4x4xf32>
  %14 = tosa.reduce_sum %13 {axis = 3 : i32} : (tensor<3x2x4x4xf32>) -> tensor<3x2x4x1xf32>
  %15 = tosa.reduce_sum %14 {axis = 2 : i32} : (tensor<3x2x4x1xf32>) -> tensor<3x2x1x1xf32>
  %16 = tosa.reduce_sum %15 {axis = 1 : i32} : (tensor<3x2x1x1xf32>) -> tensor<3x1x1x1xf32>
  %17 = tosa.const_shape {values = dense<[3, 1, 1, 1]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %18 = tosa.reshape %16, %17 : (tensor<3x1x1x1xf32>, !tosa.shape<4>) -> tensor<3x1x1x1xf32>
  %19 = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %20 = tosa.mul %18, %3, %19 : (tensor<3x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<3x1x1x1xf32>
  %21 = tosa.const_shape {values = dense<[1, 2, 4, 4]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %22 = tosa.reshape %w, %21 : (tensor<2x4x4xf32>, !tosa.shape<4>) -> tensor<1x2x4x4xf32>
  %23 = tosa.const_shape {values = dense<[1, 2, 4, 4]> : tensor<4xindex>} : () -> !tosa.shape<4>
  %24 = tosa.reshape %b, %23 : (tensor<2x4x4xf32>, !tosa.shape<4>) -> tensor<1x2x4x4xf32>
  %25 = "tosa.const"() <{values = dense<9.99999974E-6> : tensor<f32>}> : () -> tensor<f32>
  %26 = tosa.const_shape {values = dense<1> : tensor<4xindex>} : () -> !tosa.shape<4>
  %27 = tosa.reshape %25, %26 : (tensor<f32>, !tosa.shape<4>) -> tensor<1x1x1x1xf32>
  %28 = tosa.sub %x, %10 : (tensor<3x2x4x4xf32>, tensor<3x1x1x1xf32>) -> tensor<3x2x4x4xf32>
  %29 = tosa.add %20, %27 : (tensor<3x1x1x1xf32>, tensor<1x1x1x1xf32>) -> tensor<3x1x1x1xf32>
  %30 = tosa.rsqrt %29 : (tensor<3x1x1x1xf32>) -> tensor<3x1x1x1xf32>
  %31 = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %32 = tosa.mul %28, %30, %31 : (tensor<3x2x4x4xf32>, tensor<3x1x1x1xf32>, tensor<1xi8>) -> tensor<3x2x4x4xf32>
  %33 = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %34 = tosa.mul %32, %22, %33 : (tensor<3x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1xi8>) -> tensor<3x2x4x4xf32>
  %35 = tosa.add %34, %24 : (tensor<3x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<3x2x4x4xf32>
  return %35 : tensor<3x2x4x4xf32>
}

// -----

// torch-mlir, aten.rms_norm decomposed (DecomposeAtenRMSLayerNormOp) then
// TorchToTosa: aten.square as tosa.mul(x, x), mean.dim as reduce_sum times
// a rank-0 1/N constant reshaped to [1, 1, 1], add.Scalar as
// `var + eps * alpha`, rsqrt, mul, and the weight reshaped to [1, 1, 24].
// CHECK-LABEL: func @torch_tosa_rms_norm_decomposed
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x24xf32>, %[[W:.*]]: tensor<24xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<2x5x24xf32>) gamma(%[[W]] : tensor<24xf32>) outs(%{{.*}} : tensor<2x5x24xf32>)
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @torch_tosa_rms_norm_decomposed(%x: tensor<2x5x24xf32>, %w: tensor<24xf32>) -> tensor<2x5x24xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s3 = tosa.const_shape {values = dense<1> : tensor<3xindex>} : () -> !tosa.shape<3>
  %0 = tosa.mul %x, %x, %shift : (tensor<2x5x24xf32>, tensor<2x5x24xf32>, tensor<1xi8>) -> tensor<2x5x24xf32>
  %1 = tosa.reduce_sum %0 {axis = 2 : i32} : (tensor<2x5x24xf32>) -> tensor<2x5x1xf32>
  %2 = "tosa.const"() <{values = dense<0.0416666679> : tensor<f32>}> : () -> tensor<f32>
  %3 = tosa.reshape %2, %s3 : (tensor<f32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %4 = tosa.mul %1, %3, %shift : (tensor<2x5x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x5x1xf32>
  %5 = "tosa.const"() <{values = dense<9.99999997E-7> : tensor<f32>}> : () -> tensor<f32>
  %6 = tosa.reshape %5, %s3 : (tensor<f32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %7 = "tosa.const"() <{values = dense<1.000000e+00> : tensor<f32>}> : () -> tensor<f32>
  %8 = tosa.reshape %7, %s3 : (tensor<f32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %9 = tosa.mul %6, %8, %shift : (tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x1x1xf32>
  %10 = tosa.add %4, %9 : (tensor<2x5x1xf32>, tensor<1x1x1xf32>) -> tensor<2x5x1xf32>
  %11 = tosa.rsqrt %10 : (tensor<2x5x1xf32>) -> tensor<2x5x1xf32>
  %12 = tosa.mul %x, %11, %shift : (tensor<2x5x24xf32>, tensor<2x5x1xf32>, tensor<1xi8>) -> tensor<2x5x24xf32>
  %ws = tosa.const_shape {values = dense<[1, 1, 24]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %13 = tosa.reshape %w, %ws : (tensor<24xf32>, !tosa.shape<3>) -> tensor<1x1x24xf32>
  %14 = tosa.mul %12, %13, %shift : (tensor<2x5x24xf32>, tensor<1x1x24xf32>, tensor<1xi8>) -> tensor<2x5x24xf32>
  return %14 : tensor<2x5x24xf32>
}

// -----

// torch-mlir TOSA of HuggingFace LlamaRMSNorm in f16: hidden.to(float32)
// (tosa.cast), hidden.pow(2) (aten.pow.Tensor_Scalar -> tosa.pow with a
// 2.0 constant), mean(-1, keepdim=True), rsqrt(variance + eps),
// hidden.to(float16) and `weight * hidden` in f16.
// CHECK-LABEL: func @torch_tosa_llama_rms_norm_f16
// CHECK-SAME: (%[[X:.*]]: tensor<1x5x64xf16>, %[[W:.*]]: tensor<64xf16>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-05) ins(%[[X]] : tensor<1x5x64xf16>) gamma(%[[W]] : tensor<64xf16>) outs(%{{.*}} : tensor<1x5x64xf16>) -> tensor<1x5x64xf16>
// CHECK-NOT: tosa.pow
// CHECK-NOT: tosa.cast
// CHECK: return %[[Y]]
func.func @torch_tosa_llama_rms_norm_f16(%x: tensor<1x5x64xf16>, %w: tensor<64xf16>) -> tensor<1x5x64xf16> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s3 = tosa.const_shape {values = dense<1> : tensor<3xindex>} : () -> !tosa.shape<3>
  %0 = tosa.cast %x : (tensor<1x5x64xf16>) -> tensor<1x5x64xf32>
  %1 = "tosa.const"() <{values = dense<2.000000e+00> : tensor<f32>}> : () -> tensor<f32>
  %2 = tosa.reshape %1, %s3 : (tensor<f32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %3 = tosa.pow %0, %2 : (tensor<1x5x64xf32>, tensor<1x1x1xf32>) -> tensor<1x5x64xf32>
  %4 = tosa.reduce_sum %3 {axis = 2 : i32} : (tensor<1x5x64xf32>) -> tensor<1x5x1xf32>
  %5 = "tosa.const"() <{values = dense<1.562500e-02> : tensor<f32>}> : () -> tensor<f32>
  %6 = tosa.reshape %5, %s3 : (tensor<f32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %7 = tosa.mul %4, %6, %shift : (tensor<1x5x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x5x1xf32>
  %8 = "tosa.const"() <{values = dense<9.99999974E-6> : tensor<f32>}> : () -> tensor<f32>
  %9 = tosa.reshape %8, %s3 : (tensor<f32>, !tosa.shape<3>) -> tensor<1x1x1xf32>
  %10 = tosa.add %7, %9 : (tensor<1x5x1xf32>, tensor<1x1x1xf32>) -> tensor<1x5x1xf32>
  %11 = tosa.rsqrt %10 : (tensor<1x5x1xf32>) -> tensor<1x5x1xf32>
  %12 = tosa.mul %0, %11, %shift : (tensor<1x5x64xf32>, tensor<1x5x1xf32>, tensor<1xi8>) -> tensor<1x5x64xf32>
  %13 = tosa.cast %12 : (tensor<1x5x64xf32>) -> tensor<1x5x64xf16>
  %ws = tosa.const_shape {values = dense<[1, 1, 64]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %14 = tosa.reshape %w, %ws : (tensor<64xf16>, !tosa.shape<3>) -> tensor<1x1x64xf16>
  %15 = tosa.mul %14, %13, %shift : (tensor<1x1x64xf16>, tensor<1x5x64xf16>, tensor<1xi8>) -> tensor<1x5x64xf16>
  return %15 : tensor<1x5x64xf16>
}

// -----

// Near miss. torch.var(x, -1, keepdim=True) with its default correction=1
// decomposed to TOSA: the sum of squared deviations is multiplied by the
// reciprocal of N - 1 = 15, not of N = 16. An unbiased variance is not the
// norm op's; left alone.
// CHECK-LABEL: func @torch_tosa_unbiased_var_layer_norm
// CHECK-NOT: norm.
func.func @torch_tosa_unbiased_var_layer_norm(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s2 = tosa.const_shape {values = dense<1> : tensor<2xindex>} : () -> !tosa.shape<2>
  %0 = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %1 = "tosa.const"() <{values = dense<6.250000e-02> : tensor<f32>}> : () -> tensor<f32>
  %2 = tosa.reshape %1, %s2 : (tensor<f32>, !tosa.shape<2>) -> tensor<1x1xf32>
  %3 = tosa.mul %0, %2, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %4 = tosa.sub %x, %3 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %5 = tosa.mul %4, %4, %shift : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  %6 = tosa.reduce_sum %5 {axis = 1 : i32} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %7 = "tosa.const"() <{values = dense<1.500000e+01> : tensor<f32>}> : () -> tensor<f32>
  %8 = tosa.reshape %7, %s2 : (tensor<f32>, !tosa.shape<2>) -> tensor<1x1xf32>
  %9 = tosa.reciprocal %8 : (tensor<1x1xf32>) -> tensor<1x1xf32>
  %10 = tosa.mul %6, %9, %shift : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<4x1xf32>
  %11 = "tosa.const"() <{values = dense<9.99999974E-6> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %12 = tosa.add %10, %11 : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %13 = tosa.rsqrt %12 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %14 = tosa.mul %4, %13, %shift : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x16xf32>
  return %14 : tensor<4x16xf32>
}
