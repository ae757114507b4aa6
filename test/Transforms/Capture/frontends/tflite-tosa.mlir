// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --allow-uncaptured | FileCheck %s --check-prefix=EQUIV %}

// TFLite -> TOSA (tensorflow/compiler/mlir/tosa legalize_tfl, MLIR 22 TOSA
// syntax). Its spelling: tfl.mean as tosa.reduce_sum times a 1/N constant
// (convertReduceMeanOp), followed by a tosa.reshape dropping the reduced
// dim when keep_dims = false; tfl.squared_difference as tosa.sub then
// tosa.mul of the difference by itself (its own sub, separate from the
// centring the output uses); tfl.square as tosa.mul(x, x); tfl.rsqrt as
// tosa.rsqrt; weights as tosa.const tensors of rank 1 or [1, 1, C] with
// real values; tfl.expand_dims / tfl.reshape as tosa.reshape.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}7 passed, 0 failed

// A TFLite LayerNorm: tfl.mean (keep_dims), tfl.squared_difference,
// tfl.mean, add eps, tfl.rsqrt, the output centred by its own tfl.sub,
// then gamma and beta constants of shape [1, 1, 8].
// CHECK-LABEL: func @tflite_layer_norm_squared_difference
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>)
// CHECK: %[[G:.*]] = "tosa.const"() <{values = dense<[{{\[\[}}1.500000e+00
// CHECK: %[[B:.*]] = "tosa.const"() <{values = dense<[{{\[\[}}1.000000e-01
// CHECK: %[[G1:.*]] = tensor.collapse_shape %[[G]] {{\[\[}}0, 1, 2]] : tensor<1x1x8xf32> into tensor<8xf32>
// CHECK: %[[B1:.*]] = tensor.collapse_shape %[[B]] {{\[\[}}0, 1, 2]] : tensor<1x1x8xf32> into tensor<8xf32>
// CHECK-NOT: tosa.reduce_sum
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-03) ins(%[[X]] : tensor<2x3x8xf32>) gamma(%[[G1]] : tensor<8xf32>) beta(%[[B1]] : tensor<8xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK-NOT: tosa.rsqrt
// CHECK: return %[[Y]]
func.func @tflite_layer_norm_squared_difference(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<1.250000e-01> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.000000e-03> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %gamma = "tosa.const"() <{values = dense<[[[1.5, 0.5, -1.0, 2.0, 0.25, 1.0, -0.75, 1.25]]]> : tensor<1x1x8xf32>}> : () -> tensor<1x1x8xf32>
  %beta = "tosa.const"() <{values = dense<[[[0.1, -0.2, 0.3, 0.0, -0.5, 0.25, 1.0, -1.0]]]> : tensor<1x1x8xf32>}> : () -> tensor<1x1x8xf32>
  %0 = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %mean = tosa.mul %0, %inv_n, %shift : (tensor<2x3x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x3x1xf32>
  %1 = tosa.sub %x, %mean : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %sqd = tosa.mul %1, %1, %shift : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %2 = tosa.reduce_sum %sqd {axis = 2 : i32} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %var = tosa.mul %2, %inv_n, %shift : (tensor<2x3x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x3x1xf32>
  %3 = tosa.add %var, %eps : (tensor<2x3x1xf32>, tensor<1x1x1xf32>) -> tensor<2x3x1xf32>
  %4 = tosa.rsqrt %3 : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %5 = tosa.sub %x, %mean : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %6 = tosa.mul %5, %4, %shift : (tensor<2x3x8xf32>, tensor<2x3x1xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %7 = tosa.mul %6, %gamma, %shift : (tensor<2x3x8xf32>, tensor<1x1x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %8 = tosa.add %7, %beta : (tensor<2x3x8xf32>, tensor<1x1x8xf32>) -> tensor<2x3x8xf32>
  return %8 : tensor<2x3x8xf32>
}

// -----

// An RMSNorm whose tfl.mean has keep_dims = false: reduce_sum, a reshape
// dropping the unit dim ([4, 1] -> [4]), the rank-1 1/N and eps constants,
// tfl.rsqrt on [4], tfl.expand_dims back to [4, 1], tfl.mul.
// CHECK-LABEL: func @tflite_rms_norm_mean_without_keep_dims
// CHECK-SAME: (%[[X:.*]]: tensor<4x32xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x32xf32>) outs(%{{.*}} : tensor<4x32xf32>)
// CHECK-NOT: tosa.
// CHECK: return %[[Y]]
func.func @tflite_rms_norm_mean_without_keep_dims(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %sq = tosa.mul %x, %x, %shift : (tensor<4x32xf32>, tensor<4x32xf32>, tensor<1xi8>) -> tensor<4x32xf32>
  %0 = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<4x32xf32>) -> tensor<4x1xf32>
  %s1 = tosa.const_shape {values = dense<4> : tensor<1xindex>} : () -> !tosa.shape<1>
  %1 = tosa.reshape %0, %s1 : (tensor<4x1xf32>, !tosa.shape<1>) -> tensor<4xf32>
  %inv_n = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1xf32>}> : () -> tensor<1xf32>
  %ms = tosa.mul %1, %inv_n, %shift : (tensor<4xf32>, tensor<1xf32>, tensor<1xi8>) -> tensor<4xf32>
  %eps = "tosa.const"() <{values = dense<9.99999997E-7> : tensor<1xf32>}> : () -> tensor<1xf32>
  %2 = tosa.add %ms, %eps : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xf32>
  %3 = tosa.rsqrt %2 : (tensor<4xf32>) -> tensor<4xf32>
  %s2 = tosa.const_shape {values = dense<[4, 1]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %4 = tosa.reshape %3, %s2 : (tensor<4xf32>, !tosa.shape<2>) -> tensor<4x1xf32>
  %5 = tosa.mul %x, %4, %shift : (tensor<4x32xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x32xf32>
  return %5 : tensor<4x32xf32>
}

// -----

// ai-edge-torch's Gemma RMSNorm converted to TFLite, then TOSA:
// `x * rsqrt(mean(x^2) + eps) * (1 + w)`. The scale 1 + w is an expression,
// not a tensor the program holds: the RMSNorm itself is captured, and the
// multiply by (1 + w) stays after it.
// CHECK-LABEL: func @tflite_gemma_rms_norm_one_plus_weight
// CHECK-SAME: (%[[X:.*]]: tensor<2x16xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK-NOT: tosa.reduce_sum
// CHECK: %[[N:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<2x16xf32>) outs(%{{.*}} : tensor<2x16xf32>)
// CHECK: %[[S:.*]] = tosa.add
// CHECK: %[[Y:.*]] = tosa.mul %[[N]], %[[S]]
// CHECK: return %[[Y]]
func.func @tflite_gemma_rms_norm_one_plus_weight(%x: tensor<2x16xf32>, %w: tensor<16xf32>) -> tensor<2x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<9.99999997E-7> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %one = "tosa.const"() <{values = dense<1.000000e+00> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sq = tosa.mul %x, %x, %shift : (tensor<2x16xf32>, tensor<2x16xf32>, tensor<1xi8>) -> tensor<2x16xf32>
  %0 = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<2x16xf32>) -> tensor<2x1xf32>
  %1 = tosa.mul %0, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %2 = tosa.add %1, %eps : (tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<2x1xf32>
  %3 = tosa.rsqrt %2 : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %4 = tosa.mul %x, %3, %shift : (tensor<2x16xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x16xf32>
  %s2 = tosa.const_shape {values = dense<[1, 16]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %w2 = tosa.reshape %w, %s2 : (tensor<16xf32>, !tosa.shape<2>) -> tensor<1x16xf32>
  %5 = tosa.add %w2, %one : (tensor<1x16xf32>, tensor<1x1xf32>) -> tensor<1x16xf32>
  %6 = tosa.mul %4, %5, %shift : (tensor<2x16xf32>, tensor<1x16xf32>, tensor<1xi8>) -> tensor<2x16xf32>
  return %6 : tensor<2x16xf32>
}

// -----

// Near miss. A TFLite InstanceNorm of an NHWC image (style-transfer
// models): tfl.mean over axes [1, 2] (H, W), tfl.squared_difference,
// tfl.mean, rsqrt, per-channel gamma. H and W are the middle dims of NHWC,
// not trailing ones: not expressible by the norm op without a transpose.
// CHECK-LABEL: func @tflite_instance_norm_nhwc
// CHECK-NOT: norm.
func.func @tflite_instance_norm_nhwc(%x: tensor<2x4x4x8xf32>, %g: tensor<1x1x1x8xf32>) -> tensor<2x4x4x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.000000e-03> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %0 = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<2x4x4x8xf32>) -> tensor<2x1x4x8xf32>
  %1 = tosa.reduce_sum %0 {axis = 2 : i32} : (tensor<2x1x4x8xf32>) -> tensor<2x1x1x8xf32>
  %mean = tosa.mul %1, %inv_n, %shift : (tensor<2x1x1x8xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1x8xf32>
  %d = tosa.sub %x, %mean : (tensor<2x4x4x8xf32>, tensor<2x1x1x8xf32>) -> tensor<2x4x4x8xf32>
  %dd = tosa.mul %d, %d, %shift : (tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>, tensor<1xi8>) -> tensor<2x4x4x8xf32>
  %2 = tosa.reduce_sum %dd {axis = 1 : i32} : (tensor<2x4x4x8xf32>) -> tensor<2x1x4x8xf32>
  %3 = tosa.reduce_sum %2 {axis = 2 : i32} : (tensor<2x1x4x8xf32>) -> tensor<2x1x1x8xf32>
  %var = tosa.mul %3, %inv_n, %shift : (tensor<2x1x1x8xf32>, tensor<1x1x1x1xf32>, tensor<1xi8>) -> tensor<2x1x1x8xf32>
  %4 = tosa.add %var, %eps : (tensor<2x1x1x8xf32>, tensor<1x1x1x1xf32>) -> tensor<2x1x1x8xf32>
  %5 = tosa.rsqrt %4 : (tensor<2x1x1x8xf32>) -> tensor<2x1x1x8xf32>
  %6 = tosa.mul %d, %5, %shift : (tensor<2x4x4x8xf32>, tensor<2x1x1x8xf32>, tensor<1xi8>) -> tensor<2x4x4x8xf32>
  %7 = tosa.mul %6, %g, %shift : (tensor<2x4x4x8xf32>, tensor<1x1x1x8xf32>, tensor<1xi8>) -> tensor<2x4x4x8xf32>
  return %7 : tensor<2x4x4x8xf32>
}

// -----

// Near miss. tf.math.l2_normalize (TFLite L2_NORMALIZATION decomposed):
// `x * rsqrt(max(sum(x^2), eps))`. A sum, not a mean, and a maximum with
// eps instead of an addition under the root: an L2 normalisation, not an
// RMSNorm (the two differ by sqrt(N) and near zero).
// CHECK-LABEL: func @tflite_l2_normalize
// CHECK-NOT: norm.
func.func @tflite_l2_normalize(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %eps = "tosa.const"() <{values = dense<9.99999996E-13> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %sq = tosa.mul %x, %x, %shift : (tensor<4x32xf32>, tensor<4x32xf32>, tensor<1xi8>) -> tensor<4x32xf32>
  %0 = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<4x32xf32>) -> tensor<4x1xf32>
  %1 = tosa.maximum %0, %eps : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  %2 = tosa.rsqrt %1 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  %3 = tosa.mul %x, %2, %shift : (tensor<4x32xf32>, tensor<4x1xf32>, tensor<1xi8>) -> tensor<4x32xf32>
  return %3 : tensor<4x32xf32>
}

// -----

// Near miss. Keras 3 LayerNormalization(rms_scaling=True) through TFLite:
// `inputs * rsqrt(ops.var(inputs) + eps) * gamma` (keras-team/keras issue
// 21234): the variance is centred (tfl.mean, tfl.squared_difference,
// tfl.mean) but the input it scales is not. Neither a LayerNorm (no
// centring of the numerator) nor an RMSNorm (not a mean of squares of the
// scaled tensor): left alone.
// CHECK-LABEL: func @tflite_keras_rms_scaling_with_variance
// CHECK-NOT: norm.
func.func @tflite_keras_rms_scaling_with_variance(%x: tensor<3x16xf32>, %g: tensor<1x16xf32>) -> tensor<3x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<6.250000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.000000e-03> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %0 = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %mean = tosa.mul %0, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %d = tosa.sub %x, %mean : (tensor<3x16xf32>, tensor<3x1xf32>) -> tensor<3x16xf32>
  %dd = tosa.mul %d, %d, %shift : (tensor<3x16xf32>, tensor<3x16xf32>, tensor<1xi8>) -> tensor<3x16xf32>
  %1 = tosa.reduce_sum %dd {axis = 1 : i32} : (tensor<3x16xf32>) -> tensor<3x1xf32>
  %var = tosa.mul %1, %inv_n, %shift : (tensor<3x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<3x1xf32>
  %2 = tosa.add %var, %eps : (tensor<3x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %inv = tosa.rsqrt %2 : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %3 = tosa.mul %x, %inv, %shift : (tensor<3x16xf32>, tensor<3x1xf32>, tensor<1xi8>) -> tensor<3x16xf32>
  %4 = tosa.mul %3, %g, %shift : (tensor<3x16xf32>, tensor<1x16xf32>, tensor<1xi8>) -> tensor<3x16xf32>
  return %4 : tensor<3x16xf32>
}

// -----
// TFLite -> TOSA (tflite-tosa.mlir front end), Keras LayerNormalization as
// TensorFlow emits it: tf.nn.moments, then tf.nn.batch_normalization,
// i.e. inv = rsqrt(var + eps) * gamma; y = x * inv + (beta - mean * inv).
// This is LayerNorm(x) * gamma + beta exactly (trailing dim, biased f32
// variance, eps under the root), distributed: the two terms sharing
// inv are (x - mean) * inv. The captured op centres before scaling, where
// the original's x * inv - mean * inv cancels for |mean| >> std.
// CHECK-LABEL: func @tflite_keras_layer_norm_batch_normalization_form
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[G:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: norm.layer_norm eps(1.0e-03) ins(%[[X]] : tensor<2x3x8xf32>) gamma(%[[G]] : tensor<8xf32>) beta(%[[B]] : tensor<8xf32>)
// CHECK-NOT: tosa.rsqrt
// CHECK: return
func.func @tflite_keras_layer_norm_batch_normalization_form(%x: tensor<2x3x8xf32>, %gamma: tensor<8xf32>, %beta: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<1.250000e-01> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.000000e-03> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %s3 = tosa.const_shape {values = dense<[1, 1, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %g3 = tosa.reshape %gamma, %s3 : (tensor<8xf32>, !tosa.shape<3>) -> tensor<1x1x8xf32>
  %b3 = tosa.reshape %beta, %s3 : (tensor<8xf32>, !tosa.shape<3>) -> tensor<1x1x8xf32>
  %0 = tosa.reduce_sum %x {axis = 2 : i32} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %mean = tosa.mul %0, %inv_n, %shift : (tensor<2x3x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x3x1xf32>
  %1 = tosa.sub %x, %mean : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %sqd = tosa.mul %1, %1, %shift : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %2 = tosa.reduce_sum %sqd {axis = 2 : i32} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %var = tosa.mul %2, %inv_n, %shift : (tensor<2x3x1xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x3x1xf32>
  %3 = tosa.add %var, %eps : (tensor<2x3x1xf32>, tensor<1x1x1xf32>) -> tensor<2x3x1xf32>
  %4 = tosa.rsqrt %3 : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %inv = tosa.mul %4, %g3, %shift : (tensor<2x3x1xf32>, tensor<1x1x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %xs = tosa.mul %x, %inv, %shift : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %ms = tosa.mul %mean, %inv, %shift : (tensor<2x3x1xf32>, tensor<2x3x8xf32>, tensor<1xi8>) -> tensor<2x3x8xf32>
  %off = tosa.sub %b3, %ms : (tensor<1x1x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %y = tosa.add %xs, %off : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}
