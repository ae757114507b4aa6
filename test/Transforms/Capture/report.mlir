// RUN: norm-opt %s --norm-capture=report -split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: norm-opt %s --norm-capture -split-input-file -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s --check-prefix=LOC
// RUN: norm-opt %s --norm-capture -split-input-file --remarks-filter=norm-capture -o /dev/null 2>&1 | FileCheck %s --check-prefix=ENGINE

// Reporting: with `report`, a remark at the chain's final op for every
// capture (and none where nothing is captured; see also remarks.mlir);
// through the remark engine (category norm-capture) the same; the norm op
// carries a fused location of the ops it replaces.

// REPORT: remark: loc("output"): captured norm.rms_norm from 3 ops
// REPORT-NOT: remark

// LOC-LABEL: func @rms
// LOC: norm.rms_norm {{.*}} loc(fused["fill", "sum_of_squares", "output"])
// ENGINE: remark: loc("output"): [Passed] NormCapture | Category:norm-capture | Function=rms | Remark="captured norm.rms_norm from 3 ops"
// ENGINE-NOT: Function=no_eps

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @rms(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<2xf32>) -> tensor<2xf32> loc("fill")
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x64xf32>) outs(%acc : tensor<2xf32>) {
  ^bb0(%in: f32, %o: f32):
    %1 = arith.mulf %in, %in : f32
    %2 = arith.addf %o, %1 : f32
    linalg.yield %2 : f32
  } -> tensor<2xf32> loc("sum_of_squares")
  %full = tensor.empty() : tensor<2x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<2x64xf32>, tensor<2xf32>) outs(%full : tensor<2x64xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %r : f32
    linalg.yield %0 : f32
  } -> tensor<2x64xf32> loc("output")
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
