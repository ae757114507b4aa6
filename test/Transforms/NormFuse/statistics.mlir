// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: a mean or rstd of a norm's input computed by another chain
// becomes the op's mean / rstd result.

// LayerNorm's mean and rstd, as training graphs save them: a linalg.reduce
// and generics, the variance from the centred values.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @layer_norm_mean_rstd
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>)
// CHECK-NOT: linalg.
// CHECK: %[[Y:.*]]:3 = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) mean(%{{.*}} : tensor<4xf32>) rstd(%{{.*}} : tensor<4xf32>)
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]#0, %[[Y]]#1, %[[Y]]#2
func.func @layer_norm_mean_rstd(%x: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %inv = arith.constant 0.015625 : f32
  %eps = arith.constant 1.0e-5 : f32
  %e = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.reduce ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) dimensions = [1]
    (%in: f32, %a: f32) {
      %s = arith.addf %in, %a : f32
      linalg.yield %s : f32
    }
  %mean = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%sum : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %d = arith.divf %a, %n : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %full = tensor.empty() : tensor<4x64xf32>
  %centred = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %mean : tensor<4x64xf32>, tensor<4xf32>) outs(%full : tensor<4x64xf32>) {
  ^bb0(%a: f32, %m: f32, %c: f32):
    %d = arith.subf %a, %m : f32
    linalg.yield %d : f32
  } -> tensor<4x64xf32>
  %sq = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%centred : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%d: f32, %c: f32):
    %d2 = arith.mulf %d, %d : f32
    %s = arith.addf %c, %d2 : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %rstd = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%sq : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %v = arith.mulf %a, %inv : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %y, %mean, %rstd : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// RMSNorm with a residual: the chain squares x + r itself (added in bf16,
// as the op rounds it, then extended to f32), with arith ops on row tensors
// and 1 / sqrt; it is computed before the norm, so the fused op moves up
// to it.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @rms_norm_residual_rstd
// CHECK-SAME: (%[[X:.*]]: tensor<2x32xbf16>, %[[R:.*]]: tensor<2x32xbf16>, %[[E:.*]]: f32)
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(%[[E]] : f32) ins(%[[X]] : tensor<2x32xbf16>) residual(%[[R]] : tensor<2x32xbf16>) outs(%{{.*}} : tensor<2x32xbf16>) rstd(%{{.*}} : tensor<2xf32>)
// CHECK: %[[USE:.*]] = arith.mulf %[[Y]]#1, %[[Y]]#1 : tensor<2xf32>
// CHECK: return %[[Y]]#0, %[[USE]]
func.func @rms_norm_residual_rstd(%x: tensor<2x32xbf16>, %r: tensor<2x32xbf16>, %eps: f32) -> (tensor<2x32xbf16>, tensor<2xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]} ins(%x, %r : tensor<2x32xbf16>, tensor<2x32xbf16>) outs(%acc : tensor<2xf32>) {
  ^bb0(%a: bf16, %b: bf16, %c: f32):
    %h = arith.addf %a, %b : bf16
    %hw = arith.extf %h : bf16 to f32
    %sq = arith.mulf %hw, %hw : f32
    %s = arith.addf %sq, %c : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %n = arith.constant dense<32.0> : tensor<2xf32>
  %ms = arith.divf %ss, %n : tensor<2xf32>
  %epsb = linalg.fill ins(%eps : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %v = arith.addf %ms, %epsb : tensor<2xf32>
  %sd = math.sqrt %v : tensor<2xf32>
  %one = arith.constant dense<1.0> : tensor<2xf32>
  %rstd = arith.divf %one, %sd : tensor<2xf32>
  %use = arith.mulf %rstd, %rstd : tensor<2xf32>
  %o = tensor.empty() : tensor<2x32xbf16>
  %y = norm.rms_norm eps(%eps : f32) ins(%x : tensor<2x32xbf16>) residual(%r : tensor<2x32xbf16>) outs(%o : tensor<2x32xbf16>) -> tensor<2x32xbf16>
  return %y, %use : tensor<2x32xbf16>, tensor<2xf32>
}

// -----

// Refused: the chain adds x and r in f32, unrounded, where the op
// normalises x + r rounded to bf16: a different quantity.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @unrounded_residual_sum
// CHECK: linalg.generic
// CHECK: norm.rms_norm {{.*}} -> tensor<2x32xbf16>
func.func @unrounded_residual_sum(%x: tensor<2x32xbf16>, %r: tensor<2x32xbf16>) -> (tensor<2x32xbf16>, tensor<2xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]} ins(%x, %r : tensor<2x32xbf16>, tensor<2x32xbf16>) outs(%acc : tensor<2xf32>) {
  ^bb0(%a: bf16, %b: bf16, %c: f32):
    %aw = arith.extf %a : bf16 to f32
    %bw = arith.extf %b : bf16 to f32
    %h = arith.addf %aw, %bw : f32
    %sq = arith.mulf %h, %h : f32
    %s = arith.addf %sq, %c : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %n = arith.constant dense<32.0> : tensor<2xf32>
  %ms = arith.divf %ss, %n : tensor<2xf32>
  %epsv = arith.constant dense<1.0e-6> : tensor<2xf32>
  %v = arith.addf %ms, %epsv : tensor<2xf32>
  %rstd = math.rsqrt %v : tensor<2xf32>
  %o = tensor.empty() : tensor<2x32xbf16>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<2x32xbf16>) residual(%r : tensor<2x32xbf16>) outs(%o : tensor<2x32xbf16>) -> tensor<2x32xbf16>
  return %y, %rstd : tensor<2x32xbf16>, tensor<2xf32>
}

// -----

// Refused: the chain's epsilon differs from the op's.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @other_epsilon
// CHECK: norm.rms_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK: math.rsqrt
func.func @other_epsilon(%x: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %c: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %c, %sq : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %rstd = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%ss : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %n = arith.constant 64.0 : f32
    %eps = arith.constant 1.0e-5 : f32
    %v = arith.divf %a, %n : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %y, %rstd : tensor<4x64xf32>, tensor<4xf32>
}

// -----

// Refused: the mean divides by the wrong count.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @wrong_count
// CHECK: norm.layer_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK: linalg.generic
func.func @wrong_count(%x: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %n = arith.constant dense<63.0> : tensor<4xf32>
  %mean = arith.divf %sum, %n : tensor<4xf32>
  return %y, %mean : tensor<4x64xf32>, tensor<4xf32>
}

// -----

// Refused: normalising dims 1 and 2 but averaging over dim 2 only.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#rows = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @wrong_dims
// CHECK: norm.layer_norm axis(1) {{.*}} -> tensor<2x3x5xf32>
// CHECK: linalg.generic
func.func @wrong_dims(%x: tensor<2x3x5xf32>) -> (tensor<2x3x5xf32>, tensor<2x3xf32>) {
  %o = tensor.empty() : tensor<2x3x5xf32>
  %y = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<2x3x5xf32>) outs(%o : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x3x5xf32>) outs(%acc : tensor<2x3xf32>) {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  %n = arith.constant dense<5.0> : tensor<2x3xf32>
  %mean = arith.divf %sum, %n : tensor<2x3xf32>
  return %y, %mean : tensor<2x3x5xf32>, tensor<2x3xf32>
}

// -----

// Refused: the mean of another tensor.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @other_tensor
// CHECK: norm.layer_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK: linalg.generic
func.func @other_tensor(%x: tensor<4x64xf32>, %z: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %xz = arith.mulf %x, %z : tensor<4x64xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%xz : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %n = arith.constant dense<64.0> : tensor<4xf32>
  %mean = arith.divf %sum, %n : tensor<4xf32>
  return %y, %mean : tensor<4x64xf32>, tensor<4xf32>
}

// -----

// Refused: a sum that starts from a nonzero init is not sum(x).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @nonzero_init
// CHECK: norm.layer_norm {{.*}} outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK: linalg.generic
func.func @nonzero_init(%x: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%one : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x64xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %n = arith.constant dense<64.0> : tensor<4xf32>
  %mean = arith.divf %sum, %n : tensor<4xf32>
  return %y, %mean : tensor<4x64xf32>, tensor<4xf32>
}

// -----

// Refused: the op reads the mean itself (as its gamma: rows and the
// normalised dim are both 64 long), so the mean cannot become its result.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @mean_feeds_the_op
// CHECK: %[[MEAN:.*]] = arith.divf
// CHECK: norm.layer_norm {{.*}} gamma(%[[MEAN]] : tensor<64xf32>) outs(%{{.*}} : tensor<64x64xf32>) -> tensor<64x64xf32>
func.func @mean_feeds_the_op(%x: tensor<64x64xf32>) -> (tensor<64x64xf32>, tensor<64xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<64x64xf32>) outs(%acc : tensor<64xf32>) {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  %n = arith.constant dense<64.0> : tensor<64xf32>
  %mean = arith.divf %sum, %n : tensor<64xf32>
  %o = tensor.empty() : tensor<64x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<64x64xf32>) gamma(%mean : tensor<64xf32>) outs(%o : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %y, %mean : tensor<64x64xf32>, tensor<64xf32>
}
