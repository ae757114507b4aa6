func.func @f(%x: tensor<7xbf16>, %r: tensor<7xbf16>, %e: f16) -> (tensor<7xf32>, tensor<7xbf16>, tensor<f32>) {
  %o = tensor.empty() : tensor<7xf32>
  %s = tensor.empty() : tensor<7xbf16>
  %v = tensor.empty() : tensor<f32>
  %y:3 = norm.rms_norm eps(%e : f16) ins(%x : tensor<7xbf16>) residual(%r : tensor<7xbf16>) outs(%o : tensor<7xf32>) residual_out(%s : tensor<7xbf16>) rstd(%v : tensor<f32>) -> tensor<7xf32>, tensor<7xbf16>, tensor<f32>
  return %y#0, %y#1, %y#2 : tensor<7xf32>, tensor<7xbf16>, tensor<f32>
}
