// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: a gradient op that recomputes the statistics of a forward
// op's input reads the forward op's mean / rstd results instead (the
// forward op gains those destinations, in the compute type).

// CHECK-LABEL: func @layer_norm_training_step
// CHECK-SAME: (%[[X:[^:]*]]: tensor<8x64xf32>, %[[G:[^:]*]]: tensor<64xf32>, %[[B:[^:]*]]: tensor<64xf32>, %[[DY:[^:]*]]: tensor<8x64xf32>)
// CHECK: %[[F:.*]]:3 = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<8x64xf32>) gamma(%[[G]] : tensor<64xf32>) beta(%[[B]] : tensor<64xf32>) outs(%{{.*}} : tensor<8x64xf32>) mean(%{{.*}} : tensor<8xf32>) rstd(%{{.*}} : tensor<8xf32>)
// CHECK: %[[D:.*]]:3 = norm.layer_norm_grad ins(%[[X]] : tensor<8x64xf32>) dy(%[[DY]] : tensor<8x64xf32>) gamma(%[[G]] : tensor<64xf32>) mean(%[[F]]#1 : tensor<8xf32>) rstd(%[[F]]#2 : tensor<8xf32>) outs dx
// CHECK: return %[[F]]#0, %[[D]]#0, %[[D]]#1, %[[D]]#2
func.func @layer_norm_training_step(%x: tensor<8x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %dy: tensor<8x64xf32>)
    -> (tensor<8x64xf32>, tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %o = tensor.empty() : tensor<8x64xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<8x64xf32>) gamma(%g : tensor<64xf32>) beta(%b : tensor<64xf32>)
      outs(%o : tensor<8x64xf32>) -> tensor<8x64xf32>
  %dxi = tensor.empty() : tensor<8x64xf32>
  %dgi = tensor.empty() : tensor<64xf32>
  %dbi = tensor.empty() : tensor<64xf32>
  %dx, %dg, %db = norm.layer_norm_grad eps(1.0e-5) ins(%x : tensor<8x64xf32>) dy(%dy : tensor<8x64xf32>)
      gamma(%g : tensor<64xf32>) outs dx(%dxi : tensor<8x64xf32>) dgamma(%dgi : tensor<64xf32>) dbeta(%dbi : tensor<64xf32>)
      -> tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %y, %dx, %dg, %db : tensor<8x64xf32>, tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
}

// -----

// A pre-norm RMSNorm with a residual: the gradient's x is the forward op's
// residual sum result, and its existing rstd (f32 for bf16) is reused.
// CHECK-LABEL: func @rms_norm_residual
// CHECK: %[[F:.*]]:3 = norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<?x128xbf16>) residual(%{{.*}} : tensor<?x128xbf16>) {{.*}} residual_out(%{{.*}} : tensor<?x128xbf16>) rstd(%{{.*}} : tensor<?xf32>)
// CHECK-NOT: norm.rms_norm eps
// CHECK: norm.rms_norm_grad ins(%[[F]]#1 : tensor<?x128xbf16>) dy(%{{.*}} : tensor<?x128xbf16>) rstd(%[[F]]#2 : tensor<?xf32>) outs dx
func.func @rms_norm_residual(%x: tensor<?x128xbf16>, %r: tensor<?x128xbf16>, %dy: tensor<?x128xbf16>)
    -> (tensor<?x128xbf16>, tensor<?xf32>, tensor<?x128xbf16>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x128xbf16>
  %o = tensor.empty(%n) : tensor<?x128xbf16>
  %s = tensor.empty(%n) : tensor<?x128xbf16>
  %ri = tensor.empty(%n) : tensor<?xf32>
  %y, %h, %rstd = norm.rms_norm eps(1.0e-6) ins(%x : tensor<?x128xbf16>) residual(%r : tensor<?x128xbf16>)
      outs(%o : tensor<?x128xbf16>) residual_out(%s : tensor<?x128xbf16>) rstd(%ri : tensor<?xf32>)
      -> tensor<?x128xbf16>, tensor<?x128xbf16>, tensor<?xf32>
  %dxi = tensor.empty(%n) : tensor<?x128xbf16>
  %dx = norm.rms_norm_grad eps(1.0e-6) ins(%h : tensor<?x128xbf16>) dy(%dy : tensor<?x128xbf16>)
      outs dx(%dxi : tensor<?x128xbf16>) -> tensor<?x128xbf16>
  return %y, %rstd, %dx : tensor<?x128xbf16>, tensor<?xf32>, tensor<?x128xbf16>
}

// -----

// Near misses, each left alone: another eps; another axis; the forward op
// of another tensor (x's residual input alone); a forward op after the
// gradient; saved statistics narrower than the compute type (f16).
// CHECK-LABEL: func @near_misses
// CHECK-COUNT-5: norm.layer_norm_grad eps(
// CHECK-NOT: norm.layer_norm_grad ins
func.func @near_misses(%x: tensor<4x2x32xf16>, %r: tensor<4x2x32xf16>, %dy: tensor<4x2x32xf16>)
    -> (tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>,
        tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2xf16>, tensor<4x2x32xf16>) {
  %o = tensor.empty() : tensor<4x2x32xf16>
  %dxi = tensor.empty() : tensor<4x2x32xf16>
  %y1 = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x2x32xf16>) outs(%o : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %d1 = norm.layer_norm_grad eps(1.0e-6) ins(%x : tensor<4x2x32xf16>) dy(%dy : tensor<4x2x32xf16>) outs dx(%dxi : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %y2 = norm.layer_norm axis(1) eps(1.0e-3) ins(%x : tensor<4x2x32xf16>) outs(%o : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %d2 = norm.layer_norm_grad eps(1.0e-3) ins(%x : tensor<4x2x32xf16>) dy(%dy : tensor<4x2x32xf16>) outs dx(%dxi : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %d3 = norm.layer_norm_grad eps(2.0e-3) ins(%r : tensor<4x2x32xf16>) dy(%dy : tensor<4x2x32xf16>) outs dx(%dxi : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %y3 = norm.layer_norm eps(2.0e-3) ins(%x : tensor<4x2x32xf16>) residual(%r : tensor<4x2x32xf16>) outs(%o : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %d4 = norm.layer_norm_grad eps(3.0e-3) ins(%x : tensor<4x2x32xf16>) dy(%dy : tensor<4x2x32xf16>) outs dx(%dxi : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %y4 = norm.layer_norm eps(3.0e-3) ins(%x : tensor<4x2x32xf16>) outs(%o : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  %mi = tensor.empty() : tensor<4x2xf16>
  %ri = tensor.empty() : tensor<4x2xf16>
  %y5, %m5, %r5 = norm.layer_norm eps(4.0e-3) ins(%x : tensor<4x2x32xf16>) outs(%o : tensor<4x2x32xf16>)
      mean(%mi : tensor<4x2xf16>) rstd(%ri : tensor<4x2xf16>) -> tensor<4x2x32xf16>, tensor<4x2xf16>, tensor<4x2xf16>
  %d5 = norm.layer_norm_grad eps(4.0e-3) ins(%x : tensor<4x2x32xf16>) dy(%dy : tensor<4x2x32xf16>) outs dx(%dxi : tensor<4x2x32xf16>) -> tensor<4x2x32xf16>
  return %y1, %d1, %y2, %d2, %d3, %y3, %d4, %y4, %r5, %d5
      : tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>,
        tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2x32xf16>, tensor<4x2xf16>, tensor<4x2x32xf16>
}

// -----

// Gradient ops of one norm, computed apart (as the capture makes them, one
// root at a time), merge into one; an RMSNorm's dgamma alone reads x and dy
// either way round (sum(dy x rstd)). One with other statistics stays.
// CHECK-LABEL: func @merge_gradients
// CHECK-SAME: (%[[X:[^:]*]]: tensor<5x32xf32>, %[[DY:[^:]*]]: tensor<5x32xf32>, %[[R:[^:]*]]: tensor<5xf32>, %[[R2:[^:]*]]: tensor<5xf32>, %[[W:[^:]*]]: tensor<32xf32>)
// CHECK: %[[G:.*]]:2 = norm.rms_norm_grad ins(%[[X]] : tensor<5x32xf32>) dy(%[[DY]] : tensor<5x32xf32>) gamma(%[[W]] : tensor<32xf32>) rstd(%[[R]] : tensor<5xf32>) outs dx(%{{.*}} : tensor<5x32xf32>) dgamma(%{{.*}} : tensor<32xf32>)
// CHECK: %[[O:.*]] = norm.rms_norm_grad ins(%[[X]] : tensor<5x32xf32>) dy(%[[DY]] : tensor<5x32xf32>) rstd(%[[R2]] : tensor<5xf32>) outs dgamma
// CHECK: return %[[G]]#0, %[[G]]#1, %[[O]]
func.func @merge_gradients(%x: tensor<5x32xf32>, %dy: tensor<5x32xf32>, %r: tensor<5xf32>, %r2: tensor<5xf32>, %w: tensor<32xf32>)
    -> (tensor<5x32xf32>, tensor<32xf32>, tensor<32xf32>) {
  %0 = tensor.empty() : tensor<5x32xf32>
  %1 = norm.rms_norm_grad ins(%x : tensor<5x32xf32>) dy(%dy : tensor<5x32xf32>) gamma(%w : tensor<32xf32>)
      rstd(%r : tensor<5xf32>) outs dx(%0 : tensor<5x32xf32>) -> tensor<5x32xf32>
  %2 = tensor.empty() : tensor<32xf32>
  %3 = norm.rms_norm_grad ins(%dy : tensor<5x32xf32>) dy(%x : tensor<5x32xf32>) rstd(%r : tensor<5xf32>)
      outs dgamma(%2 : tensor<32xf32>) -> tensor<32xf32>
  %4 = norm.rms_norm_grad ins(%x : tensor<5x32xf32>) dy(%dy : tensor<5x32xf32>) rstd(%r2 : tensor<5xf32>)
      outs dgamma(%2 : tensor<32xf32>) -> tensor<32xf32>
  return %1, %3, %4 : tensor<5x32xf32>, tensor<32xf32>, tensor<32xf32>
}
