// The same pre-norm step as a W8A8 serving engine writes it (vLLM's
// fused_add_rms_norm followed by its per-group fp8 quantisation of the
// activations for the next matmul): the residual add (whose sum is the next
// block's residual), an RMSNorm with a weight, then each group of 128
// consecutive outputs of a row quantised to f8E4M3FN by its own scale,
// spelled out as a front end emits it (the output viewed as [rows, N/128,
// 128], |y| and its max over each group, the scale, the clamped quotient
// cast to fp8, the view folded back), in the kernel ABI.
//
//   h        = x + r
//   y        = h * rsqrt(mean(h^2) + 1e-6) * w
//   scale[g] = max(amax(|y| over group g) / 448, 1e-6)
//   q        = fp8(clamp(y / scale[g], -448, 448))
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#r1 = affine_map<(d0) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#grp = affine_map<(d0, d1, d2) -> (d0, d1)>

func.func @prenorm_fp8(%xm: memref<4096x4096xf32>, %rm: memref<4096x4096xf32>,
                       %wm: memref<4096xf32>, %qm: memref<4096x4096xf8E4M3FN>,
                       %sm: memref<4096x32xf32>, %hm: memref<4096x4096xf32>) {
  %x = bufferization.to_tensor %xm restrict : memref<4096x4096xf32> to tensor<4096x4096xf32>
  %r = bufferization.to_tensor %rm restrict : memref<4096x4096xf32> to tensor<4096x4096xf32>
  %w = bufferization.to_tensor %wm restrict : memref<4096xf32> to tensor<4096xf32>
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 4096.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %qmax = arith.constant 448.0 : f32
  %qmin = arith.constant -448.0 : f32
  %floor = arith.constant 1.0e-06 : f32
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
  // y.view(4096, -1, 128): the groups are the rows of the view.
  %y3 = tensor.expand_shape %y [[0], [1, 2]] output_shape [4096, 32, 128]
      : tensor<4096x4096xf32> into tensor<4096x32x128xf32>
  %groups = tensor.empty() : tensor<4096x32xf32>
  %start = linalg.fill ins(%ninf : f32) outs(%groups : tensor<4096x32xf32>) -> tensor<4096x32xf32>
  %amax = linalg.generic {indexing_maps = [#id3, #grp], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%y3 : tensor<4096x32x128xf32>) outs(%start : tensor<4096x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %o, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4096x32xf32>
  %scale = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%amax : tensor<4096x32xf32>) outs(%groups : tensor<4096x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = arith.divf %a, %qmax : f32
    %f = arith.maximumf %d, %floor : f32
    linalg.yield %f : f32
  } -> tensor<4096x32xf32>
  %q8 = tensor.empty() : tensor<4096x32x128xf8E4M3FN>
  %q = linalg.generic {indexing_maps = [#id3, #grp, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y3, %scale : tensor<4096x32x128xf32>, tensor<4096x32xf32>) outs(%q8 : tensor<4096x32x128xf8E4M3FN>) {
  ^bb0(%a: f32, %s: f32, %o: f8E4M3FN):
    %v = arith.divf %a, %s : f32
    %lo = arith.maximumf %v, %qmin : f32
    %hi = arith.minimumf %lo, %qmax : f32
    %t = arith.truncf %hi : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<4096x32x128xf8E4M3FN>
  %q2 = tensor.collapse_shape %q [[0], [1, 2]] : tensor<4096x32x128xf8E4M3FN> into tensor<4096x4096xf8E4M3FN>
  bufferization.materialize_in_destination %q2 in restrict writable %qm
      : (tensor<4096x4096xf8E4M3FN>, memref<4096x4096xf8E4M3FN>) -> ()
  bufferization.materialize_in_destination %scale in restrict writable %sm
      : (tensor<4096x32xf32>, memref<4096x32xf32>) -> ()
  bufferization.materialize_in_destination %h in restrict writable %hm
      : (tensor<4096x4096xf32>, memref<4096x4096xf32>) -> ()
  return
}
