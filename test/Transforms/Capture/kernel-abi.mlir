// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Norms inside kernels with the usual memref ABI: arguments read with
// bufferization.to_tensor, the result written with
// bufferization.materialize_in_destination.

// EQUIV-NOT: FAIL
// EQUIV: {{^}}3 passed, 0 failed

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// CHECK-LABEL: func @kernel_rms_norm
// CHECK: %[[X:.*]] = bufferization.to_tensor
// CHECK: %[[G:.*]] = bufferization.to_tensor
// CHECK: %[[Y:.*]] = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<4x64xf32>) gamma(%[[G]] : tensor<64xf32>)
// CHECK: bufferization.materialize_in_destination %[[Y]] in restrict writable
func.func @kernel_rms_norm(%xm: memref<4x64xf32>, %gm: memref<64xf32>, %out: memref<4x64xf32>) {
  %x = bufferization.to_tensor %xm restrict : memref<4x64xf32> to tensor<4x64xf32>
  %g = bufferization.to_tensor %gm restrict : memref<64xf32> to tensor<64xf32>
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %g : tensor<4x64xf32>, tensor<4xf32>, tensor<64xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %w: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    %1 = arith.mulf %0, %w : f32
    linalg.yield %1 : f32
  } -> tensor<4x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<4x64xf32>, memref<4x64xf32>) -> ()
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Dynamic rows; the final generic writes into the output buffer read as a
// tensor (destination passing): the norm op writes there too.
// CHECK-LABEL: func @kernel_layer_norm_into_output
// CHECK: %[[X:.*]] = bufferization.to_tensor %{{.*}} restrict : memref<?x32xf32>
// CHECK: %[[O:.*]] = bufferization.to_tensor %{{.*}} restrict writable : memref<?x32xf32>
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<?x32xf32>) outs(%[[O]] : tensor<?x32xf32>)
// CHECK: bufferization.materialize_in_destination %[[Y]]
func.func @kernel_layer_norm_into_output(%xm: memref<?x32xf32>, %out: memref<?x32xf32>) {
  %x = bufferization.to_tensor %xm restrict : memref<?x32xf32> to tensor<?x32xf32>
  %o = bufferization.to_tensor %out restrict writable : memref<?x32xf32> to tensor<?x32xf32>
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %d0 = tensor.dim %x, %c0 : tensor<?x32xf32>
  %rows = tensor.empty(%d0) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<?xf32>) -> tensor<?xf32>
  %stats:2 = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x32xf32>) outs(%acc, %acc : tensor<?xf32>, tensor<?xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32):
    %0 = arith.addf %s, %in : f32
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %q, %1 : f32
    linalg.yield %0, %2 : f32, f32
  } -> (tensor<?xf32>, tensor<?xf32>)
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %stats#0, %stats#1 : tensor<?x32xf32>, tensor<?xf32>, tensor<?xf32>) outs(%o : tensor<?x32xf32>) {
  ^bb0(%in: f32, %s: f32, %q: f32, %out_v: f32):
    %mean = arith.divf %s, %n : f32
    %ms = arith.divf %q, %n : f32
    %m2 = arith.mulf %mean, %mean : f32
    %var = arith.subf %ms, %m2 : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %mean : f32
    %0 = arith.mulf %c, %r : f32
    linalg.yield %0 : f32
  } -> tensor<?x32xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<?x32xf32>, memref<?x32xf32>) -> ()
  return
}

// -----

// A TOSA kernel: f16 in and out, computed in f32.
// CHECK-LABEL: func @kernel_tosa_layer_norm_f16
// CHECK: %[[X:.*]] = bufferization.to_tensor
// CHECK: %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<2x32xf16>) outs(%{{.*}} : tensor<2x32xf16>) -> tensor<2x32xf16>
// CHECK: bufferization.materialize_in_destination %[[Y]]
func.func @kernel_tosa_layer_norm_f16(%xm: memref<2x32xf16>, %out: memref<2x32xf16>) {
  %xh = bufferization.to_tensor %xm restrict : memref<2x32xf16> to tensor<2x32xf16>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %inv_n = "tosa.const"() <{values = dense<3.125000e-02> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %eps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %x = tosa.cast %xh : (tensor<2x32xf16>) -> tensor<2x32xf32>
  %sum = tosa.reduce_sum %x {axis = 1 : i32} : (tensor<2x32xf32>) -> tensor<2x1xf32>
  %mean = tosa.mul %sum, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %c = tosa.sub %x, %mean : (tensor<2x32xf32>, tensor<2x1xf32>) -> tensor<2x32xf32>
  %sq = tosa.mul %c, %c, %shift : (tensor<2x32xf32>, tensor<2x32xf32>, tensor<1xi8>) -> tensor<2x32xf32>
  %ss = tosa.reduce_sum %sq {axis = 1 : i32} : (tensor<2x32xf32>) -> tensor<2x1xf32>
  %var = tosa.mul %ss, %inv_n, %shift : (tensor<2x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<2x1xf32>
  %ve = tosa.add %var, %eps : (tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<2x1xf32>
  %r = tosa.rsqrt %ve : (tensor<2x1xf32>) -> tensor<2x1xf32>
  %n = tosa.mul %c, %r, %shift : (tensor<2x32xf32>, tensor<2x1xf32>, tensor<1xi8>) -> tensor<2x32xf32>
  %y = tosa.cast %n : (tensor<2x32xf32>) -> tensor<2x32xf16>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<2x32xf16>, memref<2x32xf16>) -> ()
  return
}
