// RUN: norm-opt %s --norm-capture -split-input-file | FileCheck %s
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s | FileCheck %s --check-prefix=EQUIV %}

// Decomposed norms whose elementwise steps are arith and math ops on
// tensors (statistics reduced with linalg.reduce and broadcast back with
// linalg.broadcast, as arith ops do not broadcast).

// EQUIV-NOT: FAIL
// EQUIV: {{^}}3 passed, 0 failed

// CHECK-LABEL: func @arith_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x48xf32>, %[[G:.*]]: tensor<48xf32>, %[[B:.*]]: tensor<48xf32>)
// CHECK-NOT: arith.subf
// CHECK: norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x48xf32>) gamma(%[[G]] : tensor<48xf32>) beta(%[[B]] : tensor<48xf32>)
// CHECK-NOT: math.
func.func @arith_layer_norm(%x: tensor<4x48xf32>, %g: tensor<48xf32>, %b: tensor<48xf32>) -> tensor<4x48xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant dense<48.0> : tensor<4xf32>
  %two = arith.constant dense<2> : tensor<4x48xi32>
  %eps = arith.constant dense<1.0e-05> : tensor<4xf32>
  %rows = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.reduce ins(%x : tensor<4x48xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %mean = arith.divf %sum, %n : tensor<4xf32>
  %full = tensor.empty() : tensor<4x48xf32>
  %mean_b = linalg.broadcast ins(%mean : tensor<4xf32>) outs(%full : tensor<4x48xf32>) dimensions = [1]
  %c = arith.subf %x, %mean_b : tensor<4x48xf32>
  %sq = math.fpowi %c, %two : tensor<4x48xf32>, tensor<4x48xi32>
  %ss = linalg.reduce ins(%sq : tensor<4x48xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %var = arith.divf %ss, %n : tensor<4xf32>
  %ve = arith.addf %var, %eps : tensor<4xf32>
  %r = math.rsqrt %ve : tensor<4xf32>
  %r_b = linalg.broadcast ins(%r : tensor<4xf32>) outs(%full : tensor<4x48xf32>) dimensions = [1]
  %nrm = arith.mulf %c, %r_b : tensor<4x48xf32>
  %g_b = linalg.broadcast ins(%g : tensor<48xf32>) outs(%full : tensor<4x48xf32>) dimensions = [0]
  %b_b = linalg.broadcast ins(%b : tensor<48xf32>) outs(%full : tensor<4x48xf32>) dimensions = [0]
  %s = arith.mulf %nrm, %g_b : tensor<4x48xf32>
  %y = arith.addf %s, %b_b : tensor<4x48xf32>
  return %y : tensor<4x48xf32>
}

// -----

// RMSNorm with math.powf 2, x / sqrt(ms + eps), eps a run-time scalar
// argument splatted into a tensor.
// CHECK-LABEL: func @math_rms_norm_runtime_eps
// CHECK-SAME: (%[[X:.*]]: tensor<3x40xf32>, %[[E:.*]]: f32)
// CHECK: norm.rms_norm eps(%[[E]] : f32) ins(%[[X]] : tensor<3x40xf32>) outs(%{{.*}} : tensor<3x40xf32>)
func.func @math_rms_norm_runtime_eps(%x: tensor<3x40xf32>, %e: f32) -> tensor<3x40xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant dense<2.0> : tensor<3x40xf32>
  %inv_n = arith.constant dense<2.500000e-02> : tensor<3xf32>
  %sq = math.powf %x, %two : tensor<3x40xf32>
  %rows = tensor.empty() : tensor<3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<3xf32>) -> tensor<3xf32>
  %ss = linalg.reduce ins(%sq : tensor<3x40xf32>) outs(%acc : tensor<3xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %ms = arith.mulf %ss, %inv_n : tensor<3xf32>
  %eps = tensor.splat %e : tensor<3xf32>
  %ve = arith.addf %ms, %eps : tensor<3xf32>
  %sd = math.sqrt %ve : tensor<3xf32>
  %full = tensor.empty() : tensor<3x40xf32>
  %sd_b = linalg.broadcast ins(%sd : tensor<3xf32>) outs(%full : tensor<3x40xf32>) dimensions = [1]
  %y = arith.divf %x, %sd_b : tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// -----

// The LLaMA cast sandwich in bf16: extf to f32, statistics and scaling in
// f32, truncf back to bf16, then the bf16 weight. One op on bf16.
// CHECK-LABEL: func @bf16_cast_sandwich
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xbf16>, %[[G:.*]]: tensor<64xbf16>)
// CHECK-NOT: arith.extf
// CHECK: norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<2x64xbf16>) gamma(%[[G]] : tensor<64xbf16>) outs(%{{.*}} : tensor<2x64xbf16>) -> tensor<2x64xbf16>
// CHECK-NOT: arith.truncf
func.func @bf16_cast_sandwich(%x: tensor<2x64xbf16>, %g: tensor<64xbf16>) -> tensor<2x64xbf16> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant dense<64.0> : tensor<2xf32>
  %eps = arith.constant dense<1.0e-06> : tensor<2xf32>
  %xf = arith.extf %x : tensor<2x64xbf16> to tensor<2x64xf32>
  %sq = arith.mulf %xf, %xf : tensor<2x64xf32>
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.reduce ins(%sq : tensor<2x64xf32>) outs(%acc : tensor<2xf32>) dimensions = [1]
    (%in: f32, %init: f32) {
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }
  %ms = arith.divf %ss, %n : tensor<2xf32>
  %ve = arith.addf %ms, %eps : tensor<2xf32>
  %r = math.rsqrt %ve : tensor<2xf32>
  %full = tensor.empty() : tensor<2x64xf32>
  %r_b = linalg.broadcast ins(%r : tensor<2xf32>) outs(%full : tensor<2x64xf32>) dimensions = [1]
  %nrm = arith.mulf %xf, %r_b : tensor<2x64xf32>
  %nh = arith.truncf %nrm : tensor<2x64xf32> to tensor<2x64xbf16>
  %fullh = tensor.empty() : tensor<2x64xbf16>
  %g_b = linalg.broadcast ins(%g : tensor<64xbf16>) outs(%fullh : tensor<2x64xbf16>) dimensions = [0]
  %y = arith.mulf %g_b, %nh : tensor<2x64xbf16>
  return %y : tensor<2x64xbf16>
}
