// RUN: norm-opt %s --norm-capture=report -split-input-file -verify-diagnostics -o /dev/null

// `report` emits one remark per capture, at the chain's final op, and
// nothing for a chain it does not capture (no epsilon).

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @rms(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x64xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<2xf32>
  %full = tensor.empty() : tensor<2x64xf32>
  // expected-remark @below {{captured norm.rms_norm from 3 ops}}
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<2x64xf32>, tensor<2xf32>) outs(%full : tensor<2x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @no_eps(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32> 
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x64xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<2xf32> 
  %full = tensor.empty() : tensor<2x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<2x64xf32>, tensor<2xf32>) outs(%full : tensor<2x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %r = math.rsqrt %ms : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<2x64xf32> 
  return %y : tensor<2x64xf32>
}
