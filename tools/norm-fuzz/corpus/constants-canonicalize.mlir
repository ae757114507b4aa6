func.func @f(%x: tensor<?x?xf32>, %o: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %g = arith.constant dense<1.0> : tensor<8xf32>
  %b = arith.constant dense<0.0> : tensor<8xf32>
  %e = arith.constant 0.0 : f32
  %c = tensor.cast %x : tensor<?x?xf32> to tensor<?x8xf32>
  %d = tensor.cast %o : tensor<?x?xf32> to tensor<?x8xf32>
  %y = norm.layer_norm eps(%e : f32) ins(%c : tensor<?x8xf32>) gamma(%g : tensor<8xf32>) beta(%b : tensor<8xf32>) outs(%d : tensor<?x8xf32>) -> tensor<?x8xf32>
  %z = tensor.cast %y : tensor<?x8xf32> to tensor<?x?xf32>
  return %z : tensor<?x?xf32>
}
