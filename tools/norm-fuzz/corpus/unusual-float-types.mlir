func.func @f8(%x: tensor<4x16xf8E4M3FN>, %o: tensor<4x16xf8E4M3FN>) -> tensor<4x16xf8E4M3FN> {
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<4x16xf8E4M3FN>) outs(%o : tensor<4x16xf8E4M3FN>) -> tensor<4x16xf8E4M3FN>
  return %y : tensor<4x16xf8E4M3FN>
}
func.func @f128(%x: tensor<4x16xf128>, %g: tensor<16xtf32>, %o: tensor<4x16xf80>) -> tensor<4x16xf80> {
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x16xf128>) gamma(%g : tensor<16xtf32>) outs(%o : tensor<4x16xf80>) -> tensor<4x16xf80>
  return %y : tensor<4x16xf80>
}
