// The MLP half of a pre-norm transformer block, decomposed the way a
// framework emits it (linalg on tensors, kernel ABI: memrefs outside):
//
//   h   = x + r                                  residual stream
//   y   = h + relu(LayerNorm(h; g1, b1) @ W)     eps 1e-5
//   out = RMSNorm(y; g2)                         eps 1e-6, the next block's input
//
// Both norms are spelled out as reductions and elementwise generics;
// norm-capture turns each into a single norm op.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

func.func @block(%xm: memref<16x64xf32>, %rm: memref<16x64xf32>,
                 %g1m: memref<64xf32>, %b1m: memref<64xf32>,
                 %wm: memref<64x64xf32>, %g2m: memref<64xf32>,
                 %out: memref<16x64xf32>) {
  %x = bufferization.to_tensor %xm restrict : memref<16x64xf32> to tensor<16x64xf32>
  %r = bufferization.to_tensor %rm restrict : memref<16x64xf32> to tensor<16x64xf32>
  %g1 = bufferization.to_tensor %g1m restrict : memref<64xf32> to tensor<64xf32>
  %b1 = bufferization.to_tensor %b1m restrict : memref<64xf32> to tensor<64xf32>
  %w = bufferization.to_tensor %wm restrict : memref<64x64xf32> to tensor<64x64xf32>
  %g2 = bufferization.to_tensor %g2m restrict : memref<64xf32> to tensor<64xf32>
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps1 = arith.constant 1.0e-05 : f32
  %eps2 = arith.constant 1.0e-06 : f32
  %full = tensor.empty() : tensor<16x64xf32>
  %rows = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<16xf32>) -> tensor<16xf32>

  // h = x + r
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<16x64xf32>, tensor<16x64xf32>) outs(%full : tensor<16x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>

  // LayerNorm(h) * g1 + b1, two-pass.
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : tensor<16x64xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%a: f32, %s: f32):
    %0 = arith.addf %s, %a : f32
    linalg.yield %0 : f32
  } -> tensor<16xf32>
  %c = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %sum : tensor<16x64xf32>, tensor<16xf32>) outs(%full : tensor<16x64xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %mean = arith.divf %s, %n : f32
    %0 = arith.subf %a, %mean : f32
    linalg.yield %0 : f32
  } -> tensor<16x64xf32>
  %sq = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%c : tensor<16x64xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%a: f32, %s: f32):
    %0 = arith.mulf %a, %a : f32
    %1 = arith.addf %s, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<16xf32>
  %ln = linalg.generic {indexing_maps = [#id, #row, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %sq, %g1, %b1 : tensor<16x64xf32>, tensor<16xf32>, tensor<64xf32>, tensor<64xf32>)
      outs(%full : tensor<16x64xf32>) {
  ^bb0(%a: f32, %s: f32, %g: f32, %b: f32, %o: f32):
    %var = arith.divf %s, %n : f32
    %ve = arith.addf %var, %eps1 : f32
    %rstd = math.rsqrt %ve : f32
    %0 = arith.mulf %a, %rstd : f32
    %1 = arith.mulf %0, %g : f32
    %2 = arith.addf %1, %b : f32
    linalg.yield %2 : f32
  } -> tensor<16x64xf32>

  // y = h + relu(ln @ W)
  %mm0 = linalg.fill ins(%zero : f32) outs(%full : tensor<16x64xf32>) -> tensor<16x64xf32>
  %mm = linalg.matmul ins(%ln, %w : tensor<16x64xf32>, tensor<64x64xf32>)
      outs(%mm0 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %mm : tensor<16x64xf32>, tensor<16x64xf32>) outs(%full : tensor<16x64xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %relu = arith.maximumf %m, %zero : f32
    %0 = arith.addf %a, %relu : f32
    linalg.yield %0 : f32
  } -> tensor<16x64xf32>

  // RMSNorm(y) * g2
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<16x64xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%a: f32, %s: f32):
    %0 = arith.mulf %a, %a : f32
    %1 = arith.addf %s, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<16xf32>
  %z = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %ss, %g2 : tensor<16x64xf32>, tensor<16xf32>, tensor<64xf32>) outs(%full : tensor<16x64xf32>) {
  ^bb0(%a: f32, %s: f32, %g: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps2 : f32
    %rstd = math.rsqrt %ve : f32
    %0 = arith.mulf %a, %rstd : f32
    %1 = arith.mulf %0, %g : f32
    linalg.yield %1 : f32
  } -> tensor<16x64xf32>

  bufferization.materialize_in_destination %z in restrict writable %out
      : (tensor<16x64xf32>, memref<16x64xf32>) -> ()
  return
}
