// A pre-norm transformer step as a framework emits it: the residual add
// (whose sum is the next block's residual), an RMSNorm with a weight, and
// the cast to bf16 for the next matmul, spelled out as linalg.generic
// reductions and elementwise ops, in the kernel ABI (memrefs outside,
// tensors inside).
//
//   h   = x + r
//   out = bf16(h * rsqrt(mean(h^2) + 1e-6) * w)
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#r1 = affine_map<(d0) -> (d0)>

func.func @prenorm(%xm: memref<4096x4096xf32>, %rm: memref<4096x4096xf32>,
                   %wm: memref<4096xf32>, %outm: memref<4096x4096xbf16>,
                   %hm: memref<4096x4096xf32>) {
  %x = bufferization.to_tensor %xm restrict : memref<4096x4096xf32> to tensor<4096x4096xf32>
  %r = bufferization.to_tensor %rm restrict : memref<4096x4096xf32> to tensor<4096x4096xf32>
  %w = bufferization.to_tensor %wm restrict : memref<4096xf32> to tensor<4096xf32>
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 4096.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %full = tensor.empty() : tensor<4096x4096xf32>
  %rows = tensor.empty() : tensor<4096xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<4096x4096xf32>, tensor<4096x4096xf32>) outs(%full : tensor<4096x4096xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4096x4096xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<4096xf32>) -> tensor<4096xf32>
  %sumsq = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : tensor<4096x4096xf32>) outs(%acc : tensor<4096xf32>) {
  ^bb0(%a: f32, %o: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %o, %sq : f32
    linalg.yield %s : f32
  } -> tensor<4096xf32>
  %rstd = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]}
      ins(%sumsq : tensor<4096xf32>) outs(%rows : tensor<4096xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.divf %a, %n : f32
    %v = arith.addf %m, %eps : f32
    %rs = math.rsqrt %v : f32
    linalg.yield %rs : f32
  } -> tensor<4096xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %rstd, %w : tensor<4096x4096xf32>, tensor<4096xf32>, tensor<4096xf32>) outs(%full : tensor<4096x4096xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %t = arith.mulf %a, %b : f32
    %u = arith.mulf %t, %c : f32
    linalg.yield %u : f32
  } -> tensor<4096x4096xf32>
  %half = tensor.empty() : tensor<4096x4096xbf16>
  %yb = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4096x4096xf32>) outs(%half : tensor<4096x4096xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<4096x4096xbf16>
  bufferization.materialize_in_destination %yb in restrict writable %outm
      : (tensor<4096x4096xbf16>, memref<4096x4096xbf16>) -> ()
  bufferization.materialize_in_destination %h in restrict writable %hm
      : (tensor<4096x4096xf32>, memref<4096x4096xf32>) -> ()
  return
}
