// RUN: norm-opt %s | norm-opt | FileCheck %s
// RUN: norm-opt %s -mlir-print-op-generic | norm-opt | FileCheck %s

// The gradient ops round-trip in every form: saved or recomputed
// statistics, each destination optional, tensors and memrefs.

// CHECK-LABEL: func.func @layer_norm_saved
// CHECK: norm.layer_norm_grad axis(1) ins(%{{.*}} : tensor<?x768xf32>) dy(%{{.*}} : tensor<?x768xf32>) gamma(%{{.*}} : tensor<768xf32>) mean(%{{.*}} : tensor<?xf32>) rstd(%{{.*}} : tensor<?xf32>) outs dx(%{{.*}} : tensor<?x768xf32>) dgamma(%{{.*}} : tensor<768xf32>) dbeta(%{{.*}} : tensor<768xf32>) -> tensor<?x768xf32>, tensor<768xf32>, tensor<768xf32>
func.func @layer_norm_saved(%x: tensor<?x768xf32>, %dy: tensor<?x768xf32>, %g: tensor<768xf32>,
                            %mean: tensor<?xf32>, %rstd: tensor<?xf32>, %dxi: tensor<?x768xf32>,
                            %dgi: tensor<768xf32>, %dbi: tensor<768xf32>)
    -> (tensor<?x768xf32>, tensor<768xf32>, tensor<768xf32>) {
  %dx, %dg, %db = norm.layer_norm_grad axis(1)
      ins(%x : tensor<?x768xf32>) dy(%dy : tensor<?x768xf32>) gamma(%g : tensor<768xf32>)
      mean(%mean : tensor<?xf32>) rstd(%rstd : tensor<?xf32>)
      outs dx(%dxi : tensor<?x768xf32>) dgamma(%dgi : tensor<768xf32>) dbeta(%dbi : tensor<768xf32>)
      -> tensor<?x768xf32>, tensor<768xf32>, tensor<768xf32>
  return %dx, %dg, %db : tensor<?x768xf32>, tensor<768xf32>, tensor<768xf32>
}

// CHECK-LABEL: func.func @layer_norm_recomputed_dx_only
// CHECK: norm.layer_norm_grad eps(1.0e-05) ins(%{{.*}} : tensor<2x3x64xbf16>) dy(%{{.*}} : tensor<2x3x64xbf16>) residual_grad(%{{.*}} : tensor<2x3x64xbf16>) outs dx(%{{.*}} : tensor<2x3x64xbf16>) -> tensor<2x3x64xbf16>
func.func @layer_norm_recomputed_dx_only(%x: tensor<2x3x64xbf16>, %dy: tensor<2x3x64xbf16>,
                                         %dr: tensor<2x3x64xbf16>, %dxi: tensor<2x3x64xbf16>)
    -> tensor<2x3x64xbf16> {
  %dx = norm.layer_norm_grad eps(1.0e-05)
      ins(%x : tensor<2x3x64xbf16>) dy(%dy : tensor<2x3x64xbf16>)
      residual_grad(%dr : tensor<2x3x64xbf16>) outs dx(%dxi : tensor<2x3x64xbf16>)
      -> tensor<2x3x64xbf16>
  return %dx : tensor<2x3x64xbf16>
}

// CHECK-LABEL: func.func @rms_norm_memref
// CHECK: norm.rms_norm_grad eps(%{{.*}} : f32) ins(%{{.*}} : memref<?x4096xf16>) dy(%{{.*}} : memref<?x4096xf16>) gamma(%{{.*}} : memref<4096xf16>) outs dgamma(%{{.*}} : memref<4096xf32>)
// CHECK-NOT: ->
func.func @rms_norm_memref(%x: memref<?x4096xf16>, %dy: memref<?x4096xf16>, %g: memref<4096xf16>,
                           %eps: f32, %dgi: memref<4096xf32>) {
  norm.rms_norm_grad eps(%eps : f32) ins(%x : memref<?x4096xf16>) dy(%dy : memref<?x4096xf16>)
      gamma(%g : memref<4096xf16>) outs dgamma(%dgi : memref<4096xf32>)
  return
}

// CHECK-LABEL: func.func @rms_norm_saved
// CHECK: norm.rms_norm_grad axis(1) ins(%{{.*}} : tensor<4x8x16xf64>) dy(%{{.*}} : tensor<4x8x16xf64>) rstd(%{{.*}} : tensor<4xf64>) outs dx(%{{.*}} : tensor<4x8x16xf64>) dgamma(%{{.*}} : tensor<8x16xf64>) -> tensor<4x8x16xf64>, tensor<8x16xf64>
func.func @rms_norm_saved(%x: tensor<4x8x16xf64>, %dy: tensor<4x8x16xf64>, %rstd: tensor<4xf64>,
                          %dxi: tensor<4x8x16xf64>, %dgi: tensor<8x16xf64>)
    -> (tensor<4x8x16xf64>, tensor<8x16xf64>) {
  %dx, %dg = norm.rms_norm_grad axis(1) ins(%x : tensor<4x8x16xf64>) dy(%dy : tensor<4x8x16xf64>)
      rstd(%rstd : tensor<4xf64>) outs dx(%dxi : tensor<4x8x16xf64>) dgamma(%dgi : tensor<8x16xf64>)
      -> tensor<4x8x16xf64>, tensor<8x16xf64>
  return %dx, %dg : tensor<4x8x16xf64>, tensor<8x16xf64>
}
