// RUN: norm-opt %s --norm-capture | FileCheck %s --check-prefix=CAPTURE
// RUN: norm-opt %s --norm-capture --norm-fuse | FileCheck %s --check-prefix=FUSED
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --passes "--norm-capture --norm-fuse --canonicalize" --pipeline cpu | FileCheck %s --check-prefix=EQUIV %}

// TOSA backward graphs as torch-mlir's TOSA path spells them: dgamma and
// dbeta are keepdim tosa.reduce_sums over every leading axis, reshaped to
// the normalised dims. dgamma is captured in the space of x (the innermost
// sum's input), dbeta fused into the gradient op by --norm-fuse, and the
// whole backward becomes one op reading x and dy once (the two captures'
// reshapes of the saved statistics count as the same statistics). Near
// misses: gradients-tosa-near-miss.mlir.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}2 passed, 0 failed

// CAPTURE-LABEL: func @layer_norm_backward
// CAPTURE-DAG: norm.layer_norm_grad ins(%{{.*}}) dy(%{{.*}}) gamma(%{{.*}}) mean(%{{.*}}) rstd(%{{.*}}) outs dx(%{{.*}} : tensor<8x16xf32>)
// CAPTURE-DAG: norm.layer_norm_grad ins(%{{.*}}) dy(%{{.*}}) mean(%{{.*}}) rstd(%{{.*}}) outs dgamma(%{{.*}} : tensor<16xf32>)
// FUSED-LABEL: func @layer_norm_backward
// FUSED-SAME: (%[[DY:[^:]*]]: tensor<8x16xf32>, %[[X:[^:]*]]: tensor<8x16xf32>, %[[W:[^:]*]]: tensor<16xf32>
// FUSED: %[[G:.*]]:3 = norm.layer_norm_grad ins(%[[X]] : tensor<8x16xf32>) dy(%[[DY]] : tensor<8x16xf32>) gamma(%[[W]] : tensor<16xf32>) mean(%{{.*}} : tensor<8xf32>) rstd(%{{.*}} : tensor<8xf32>) outs dx(%{{.*}} : tensor<8x16xf32>) dgamma(%{{.*}} : tensor<16xf32>) dbeta(%{{.*}} : tensor<16xf32>)
// FUSED-NOT: tosa.reduce_sum
// FUSED: return %[[G]]#0, %[[G]]#1, %[[G]]#2
func.func @layer_norm_backward(%dy: tensor<8x16xf32>, %x: tensor<8x16xf32>, %w: tensor<16xf32>, %mean: tensor<8x1xf32>, %rstd: tensor<8x1xf32>)
    -> (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<0.0625> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %n = "tosa.const"() <{values = dense<16.0> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %xc = tosa.sub %x, %mean : (tensor<8x16xf32>, tensor<8x1xf32>) -> tensor<8x16xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<8x16xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %row_shape = tosa.const_shape {values = dense<[1, 16]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %w2 = tosa.reshape %w, %row_shape : (tensor<16xf32>, !tosa.shape<2>) -> tensor<1x16xf32>
  %wdy = tosa.mul %dy, %w2, %shift : (tensor<8x16xf32>, tensor<1x16xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %dot = tosa.mul %xhat, %wdy, %shift : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %sum_dot = tosa.reduce_sum %dot {axis = 1 : i32} : (tensor<8x16xf32>) -> tensor<8x1xf32>
  %scaled = tosa.mul %wdy, %n, %shift : (tensor<8x16xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %sum_wdy = tosa.reduce_sum %wdy {axis = 1 : i32} : (tensor<8x16xf32>) -> tensor<8x1xf32>
  %t0 = tosa.sub %scaled, %sum_wdy : (tensor<8x16xf32>, tensor<8x1xf32>) -> tensor<8x16xf32>
  %t1 = tosa.mul %xhat, %sum_dot, %shift : (tensor<8x16xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %inner = tosa.sub %t0, %t1 : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  %r_n = tosa.mul %rstd, %inv_n, %shift : (tensor<8x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<8x1xf32>
  %dx = tosa.mul %r_n, %inner, %shift : (tensor<8x1xf32>, tensor<8x16xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %col_shape = tosa.const_shape {values = dense<[16]> : tensor<1xindex>} : () -> !tosa.shape<1>
  %gx = tosa.mul %dy, %xhat, %shift : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %sg = tosa.reduce_sum %gx {axis = 0 : i32} : (tensor<8x16xf32>) -> tensor<1x16xf32>
  %dgamma = tosa.reshape %sg, %col_shape : (tensor<1x16xf32>, !tosa.shape<1>) -> tensor<16xf32>
  %sb = tosa.reduce_sum %dy {axis = 0 : i32} : (tensor<8x16xf32>) -> tensor<1x16xf32>
  %dbeta = tosa.reshape %sb, %col_shape : (tensor<1x16xf32>, !tosa.shape<1>) -> tensor<16xf32>
  return %dx, %dgamma, %dbeta : tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>
}

// Two leading dims summed one axis at a time: [2, 4, 16] -> [1, 4, 16] ->
// [1, 1, 16] -> [16].
// CAPTURE-LABEL: func @layer_norm_dgamma_two_row_dims
// CAPTURE: norm.layer_norm_grad ins(%{{.*}} : tensor<2x4x16xf32>) dy(%{{.*}} : tensor<2x4x16xf32>) mean(%{{.*}} : tensor<2x4xf32>) rstd(%{{.*}} : tensor<2x4xf32>) outs dgamma(%{{.*}} : tensor<16xf32>)
// FUSED-LABEL: func @layer_norm_dgamma_two_row_dims
// FUSED: norm.layer_norm_grad {{.*}} outs dgamma(%{{.*}} : tensor<16xf32>) dbeta(%{{.*}} : tensor<16xf32>)
// FUSED-NOT: tosa.reduce_sum
func.func @layer_norm_dgamma_two_row_dims(%dy: tensor<2x4x16xf32>, %x: tensor<2x4x16xf32>, %mean: tensor<2x4x1xf32>, %rstd: tensor<2x4x1xf32>)
    -> (tensor<16xf32>, tensor<16xf32>) {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %xc = tosa.sub %x, %mean : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<2x4x16xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x16xf32>
  %gx = tosa.mul %dy, %xhat, %shift : (tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<1xi8>) -> tensor<2x4x16xf32>
  %s0 = tosa.reduce_sum %gx {axis = 0 : i32} : (tensor<2x4x16xf32>) -> tensor<1x4x16xf32>
  %s1 = tosa.reduce_sum %s0 {axis = 1 : i32} : (tensor<1x4x16xf32>) -> tensor<1x1x16xf32>
  %col_shape = tosa.const_shape {values = dense<[16]> : tensor<1xindex>} : () -> !tosa.shape<1>
  %dgamma = tosa.reshape %s1, %col_shape : (tensor<1x1x16xf32>, !tosa.shape<1>) -> tensor<16xf32>
  %b0 = tosa.reduce_sum %dy {axis = 0 : i32} : (tensor<2x4x16xf32>) -> tensor<1x4x16xf32>
  %b1 = tosa.reduce_sum %b0 {axis = 1 : i32} : (tensor<1x4x16xf32>) -> tensor<1x1x16xf32>
  %dbeta = tosa.reshape %b1, %col_shape : (tensor<1x1x16xf32>, !tosa.shape<1>) -> tensor<16xf32>
  return %dgamma, %dbeta : tensor<16xf32>, tensor<16xf32>
}
