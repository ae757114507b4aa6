// RUN: norm-opt %s | norm-opt | FileCheck %s
// RUN: norm-opt %s --mlir-print-op-generic | norm-opt | FileCheck %s

// CHECK-LABEL: func @layer_norm_full
// CHECK: norm.layer_norm axis(1) eps(1.0e-05) ins(%{{.*}} : tensor<4x8xf32>) gamma(%{{.*}} : tensor<8xf32>) beta(%{{.*}} : tensor<8xf32>) outs(%{{.*}} : tensor<4x8xf32>) -> tensor<4x8xf32>
func.func @layer_norm_full(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %init = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<4x8xf32>) gamma(%g : tensor<8xf32>) beta(%b : tensor<8xf32>) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// The axis defaults to the last dim and is not printed when absent.
// CHECK-LABEL: func @layer_norm_plain
// CHECK: norm.layer_norm eps(1.0e-06) ins(%{{.*}} : tensor<?x?xf16>) outs(%{{.*}} : tensor<?x?xf16>) -> tensor<?x?xf16>
func.func @layer_norm_plain(%x: tensor<?x?xf16>, %init: tensor<?x?xf16>) -> tensor<?x?xf16> {
  %y = norm.layer_norm eps(1.0e-6) ins(%x : tensor<?x?xf16>) outs(%init : tensor<?x?xf16>) -> tensor<?x?xf16>
  return %y : tensor<?x?xf16>
}

// CHECK-LABEL: func @rms_norm_runtime_eps
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4096xbf16>, %[[G:.*]]: tensor<4096xbf16>, %[[E:.*]]: f32
// CHECK: norm.rms_norm eps(%[[E]] : f32) ins(%[[X]] : tensor<2x3x4096xbf16>) gamma(%[[G]] : tensor<4096xbf16>) outs(%{{.*}} : tensor<2x3x4096xbf16>) -> tensor<2x3x4096xbf16>
func.func @rms_norm_runtime_eps(%x: tensor<2x3x4096xbf16>, %g: tensor<4096xbf16>, %e: f32) -> tensor<2x3x4096xbf16> {
  %init = tensor.empty() : tensor<2x3x4096xbf16>
  %y = norm.rms_norm eps(%e : f32) ins(%x : tensor<2x3x4096xbf16>) gamma(%g : tensor<4096xbf16>) outs(%init : tensor<2x3x4096xbf16>) -> tensor<2x3x4096xbf16>
  return %y : tensor<2x3x4096xbf16>
}

// Several trailing dims normalised; f64.
// CHECK-LABEL: func @layer_norm_rank3_axis1
// CHECK: norm.layer_norm axis(1) eps(1.0e-05) ins(%{{.*}} : tensor<2x3x5xf64>) gamma(%{{.*}} : tensor<3x5xf64>) outs(%{{.*}} : tensor<2x3x5xf64>) -> tensor<2x3x5xf64>
func.func @layer_norm_rank3_axis1(%x: tensor<2x3x5xf64>, %g: tensor<3x5xf64>, %init: tensor<2x3x5xf64>) -> tensor<2x3x5xf64> {
  %y = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<2x3x5xf64>) gamma(%g : tensor<3x5xf64>) outs(%init : tensor<2x3x5xf64>) -> tensor<2x3x5xf64>
  return %y : tensor<2x3x5xf64>
}

// Memref form: no results.
// CHECK-LABEL: func @rms_norm_memref
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : memref<16x768xf32>) gamma(%{{.*}} : memref<768xf32>) outs(%{{.*}} : memref<16x768xf32>){{$}}
func.func @rms_norm_memref(%x: memref<16x768xf32>, %g: memref<768xf32>, %out: memref<16x768xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<16x768xf32>) gamma(%g : memref<768xf32>) outs(%out : memref<16x768xf32>)
  return
}

// Every optional extra at once: residual sum, mean and rstd destinations,
// and an output type different from the input's.
// CHECK-LABEL: func @layer_norm_extras
// CHECK: %{{.*}}:4 = norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<8x64xbf16>) residual(%{{.*}} : tensor<8x64xbf16>) gamma(%{{.*}} : tensor<64xf32>) beta(%{{.*}} : tensor<64xf32>)
// CHECK-SAME: outs(%{{.*}} : tensor<8x64xf16>) residual_out(%{{.*}} : tensor<8x64xbf16>) mean(%{{.*}} : tensor<8xf32>) rstd(%{{.*}} : tensor<8xf32>)
// CHECK-SAME: -> tensor<8x64xf16>, tensor<8x64xbf16>, tensor<8xf32>, tensor<8xf32>
func.func @layer_norm_extras(%x: tensor<8x64xbf16>, %r: tensor<8x64xbf16>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<8x64xf16>, tensor<8x64xbf16>, tensor<8xf32>, tensor<8xf32>) {
  %o = tensor.empty() : tensor<8x64xf16>
  %s = tensor.empty() : tensor<8x64xbf16>
  %m = tensor.empty() : tensor<8xf32>
  %v = tensor.empty() : tensor<8xf32>
  %y:4 = norm.layer_norm eps(1.0e-5) ins(%x : tensor<8x64xbf16>) residual(%r : tensor<8x64xbf16>) gamma(%g : tensor<64xf32>) beta(%b : tensor<64xf32>)
      outs(%o : tensor<8x64xf16>) residual_out(%s : tensor<8x64xbf16>) mean(%m : tensor<8xf32>) rstd(%v : tensor<8xf32>)
      -> tensor<8x64xf16>, tensor<8x64xbf16>, tensor<8xf32>, tensor<8xf32>
  return %y#0, %y#1, %y#2, %y#3 : tensor<8x64xf16>, tensor<8x64xbf16>, tensor<8xf32>, tensor<8xf32>
}

// CHECK-LABEL: func @rms_norm_residual_rstd
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : memref<?x128xf16>) residual(%{{.*}} : memref<?x128xf16>) outs(%{{.*}} : memref<?x128xf16>) residual_out(%{{.*}} : memref<?x128xf16>) rstd(%{{.*}} : memref<?xf32>){{$}}
func.func @rms_norm_residual_rstd(%x: memref<?x128xf16>, %r: memref<?x128xf16>, %o: memref<?x128xf16>, %s: memref<?x128xf16>, %v: memref<?xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<?x128xf16>) residual(%r : memref<?x128xf16>) outs(%o : memref<?x128xf16>) residual_out(%s : memref<?x128xf16>) rstd(%v : memref<?xf32>)
  return
}

// A rank-1 input: one row; its statistics are rank-0.
// CHECK-LABEL: func @rank1
// CHECK: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<7xf32>) outs(%{{.*}} : tensor<7xf32>) mean(%{{.*}} : tensor<f32>) rstd(%{{.*}} : tensor<f32>) -> tensor<7xf32>, tensor<f32>, tensor<f32>
func.func @rank1(%x: tensor<7xf32>) -> (tensor<7xf32>, tensor<f32>, tensor<f32>) {
  %o = tensor.empty() : tensor<7xf32>
  %m = tensor.empty() : tensor<f32>
  %v = tensor.empty() : tensor<f32>
  %y:3 = norm.layer_norm eps(1.0e-5) ins(%x : tensor<7xf32>) outs(%o : tensor<7xf32>) mean(%m : tensor<f32>) rstd(%v : tensor<f32>) -> tensor<7xf32>, tensor<f32>, tensor<f32>
  return %y#0, %y#1, %y#2 : tensor<7xf32>, tensor<f32>, tensor<f32>
}

// Quantised outputs: i8 and f8E4M3FN with a scalar out_scale, printed
// between the inputs and the destinations.
// CHECK-LABEL: func @rms_norm_i8
// CHECK-SAME: %[[S:[a-z0-9]+]]: f32
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x4096xbf16>) residual(%{{.*}} : tensor<4x4096xbf16>) gamma(%{{.*}} : tensor<4096xbf16>) out_scale(%[[S]] : f32) outs(%{{.*}} : tensor<4x4096xi8>) residual_out(%{{.*}} : tensor<4x4096xbf16>) -> tensor<4x4096xi8>, tensor<4x4096xbf16>
func.func @rms_norm_i8(%x: tensor<4x4096xbf16>, %r: tensor<4x4096xbf16>, %g: tensor<4096xbf16>, %s: f32) -> (tensor<4x4096xi8>, tensor<4x4096xbf16>) {
  %o = tensor.empty() : tensor<4x4096xi8>
  %h = tensor.empty() : tensor<4x4096xbf16>
  %y:2 = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x4096xbf16>) residual(%r : tensor<4x4096xbf16>) gamma(%g : tensor<4096xbf16>) out_scale(%s : f32) outs(%o : tensor<4x4096xi8>) residual_out(%h : tensor<4x4096xbf16>) -> tensor<4x4096xi8>, tensor<4x4096xbf16>
  return %y#0, %y#1 : tensor<4x4096xi8>, tensor<4x4096xbf16>
}

// CHECK-LABEL: func @layer_norm_f8_memref
// CHECK: norm.layer_norm eps(%{{.*}} : f32) ins(%{{.*}} : memref<?x768xf16>) gamma(%{{.*}} : memref<768xf16>) beta(%{{.*}} : memref<768xf16>) out_scale(%{{.*}} : f16) outs(%{{.*}} : memref<?x768xf8E4M3FN>){{$}}
func.func @layer_norm_f8_memref(%x: memref<?x768xf16>, %g: memref<768xf16>, %b: memref<768xf16>, %e: f32, %s: f16, %o: memref<?x768xf8E4M3FN>) {
  norm.layer_norm eps(%e : f32) ins(%x : memref<?x768xf16>) gamma(%g : memref<768xf16>) beta(%b : memref<768xf16>) out_scale(%s : f16) outs(%o : memref<?x768xf8E4M3FN>)
  return
}
