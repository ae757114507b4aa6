// RUN: norm-opt %s --norm-capture --norm-fuse | FileCheck %s

// Near misses of the TOSA dgamma of gradients-tosa.mlir, left exactly as
// they were.

// Summed over the first of two row dims only (a sum per position, not
// dgamma):
// CHECK-LABEL: func @sum_over_one_of_two_row_dims
// CHECK-NOT: norm.
// CHECK: tosa.reduce_sum %{{.*}} {axis = 0 : i32}
// CHECK-NOT: norm.
// CHECK: return
func.func @sum_over_one_of_two_row_dims(%dy: tensor<2x4x16xf32>, %x: tensor<2x4x16xf32>, %mean: tensor<2x4x1xf32>, %rstd: tensor<2x4x1xf32>) -> tensor<4x16xf32> {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %xc = tosa.sub %x, %mean : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<2x4x16xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x16xf32>
  %gx = tosa.mul %dy, %xhat, %shift : (tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<1xi8>) -> tensor<2x4x16xf32>
  %s0 = tosa.reduce_sum %gx {axis = 0 : i32} : (tensor<2x4x16xf32>) -> tensor<1x4x16xf32>
  %shape = tosa.const_shape {values = dense<[4, 16]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %r = tosa.reshape %s0, %shape : (tensor<1x4x16xf32>, !tosa.shape<2>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// Summed over the normalised dim (a row sum), and dy x without the
// statistics:
// CHECK-LABEL: func @row_sum_and_dgamma_from_x
// CHECK-NOT: norm.
// CHECK: tosa.reduce_sum %{{.*}} {axis = 1 : i32}
// CHECK: tosa.reduce_sum %{{.*}} {axis = 0 : i32}
// CHECK-NOT: norm.
// CHECK: return
func.func @row_sum_and_dgamma_from_x(%dy: tensor<8x16xf32>, %x: tensor<8x16xf32>, %mean: tensor<8x1xf32>, %rstd: tensor<8x1xf32>) -> (tensor<8xf32>, tensor<16xf32>) {
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %xc = tosa.sub %x, %mean : (tensor<8x16xf32>, tensor<8x1xf32>) -> tensor<8x16xf32>
  %xhat = tosa.mul %xc, %rstd, %shift : (tensor<8x16xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %gx = tosa.mul %dy, %xhat, %shift : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %rs = tosa.reduce_sum %gx {axis = 1 : i32} : (tensor<8x16xf32>) -> tensor<8x1xf32>
  %row_shape = tosa.const_shape {values = dense<[8]> : tensor<1xindex>} : () -> !tosa.shape<1>
  %rows = tosa.reshape %rs, %row_shape : (tensor<8x1xf32>, !tosa.shape<1>) -> tensor<8xf32>
  %px = tosa.mul %dy, %x, %shift : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<1xi8>) -> tensor<8x16xf32>
  %sx = tosa.reduce_sum %px {axis = 0 : i32} : (tensor<8x16xf32>) -> tensor<1x16xf32>
  %col_shape = tosa.const_shape {values = dense<[16]> : tensor<1xindex>} : () -> !tosa.shape<1>
  %cols = tosa.reshape %sx, %col_shape : (tensor<1x16xf32>, !tosa.shape<1>) -> tensor<16xf32>
  return %rows, %cols : tensor<8xf32>, tensor<16xf32>
}
