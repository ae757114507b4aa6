// RUN: norm-opt %s -split-input-file -transform-interpreter -canonicalize | FileCheck %s

// transform.apply_patterns.norm.*: the lowerings' patterns, and their use
// on the handle transform.norm.capture returns, tiled by upstream's
// transform.structured ops (norm ops implement TilingInterface).

// Capture, tile the rows into an scf.forall, then the reference lowering
// inside each tile.
// CHECK-LABEL: func @capture_tile_lower
// CHECK-NOT: {{[ =] norm\.}}
// CHECK: scf.forall (%{{.*}}) in (4)
// CHECK:   tensor.extract_slice %{{.*}} [2, 40] [1, 1] : tensor<8x40xf32> to tensor<2x40xf32>
// CHECK:   linalg.generic
// CHECK:   tensor.parallel_insert_slice
// CHECK-NOT: {{[ =] norm\.}}
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @capture_tile_lower(%x: tensor<8x40xf32>) -> tensor<8x40xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 40.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %rows = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<8xf32>) -> tensor<8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x40xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8xf32>
  %full = tensor.empty() : tensor<8x40xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<8x40xf32>, tensor<8xf32>) outs(%full : tensor<8x40xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %rs : f32
    linalg.yield %0 : f32
  } -> tensor<8x40xf32>
  return %y : tensor<8x40xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    %norms = transform.norm.capture %f : (!transform.any_op) -> !transform.any_op
    %tiled, %forall = transform.structured.tile_using_forall %norms tile_sizes [2] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.apply_patterns to %f {
      transform.apply_patterns.norm.lower_to_linalg
    } : !transform.any_op
    transform.yield
  }
}

// -----

// The CPU lowering, with the pass's options.
// CHECK-LABEL: func @lower_to_affine
// CHECK-NOT: {{[ =] norm\.}}
// CHECK: affine.for
// CHECK: vector<4xf32>
// CHECK-NOT: affine.parallel
func.func @lower_to_affine(%x: memref<8x64xf32>, %o: memref<8x64xf32>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<8x64xf32>) outs(%o : memref<8x64xf32>)
  return
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.norm.lower_to_affine options = "vector-width=4 unroll=2 parallel=false"
    } : !transform.any_op
    transform.yield
  }
}

// -----

// The GPU lowering, with the pass's options.
// CHECK-LABEL: func @lower_to_gpu
// CHECK-NOT: {{[ =] norm\.}}
// CHECK: gpu.launch blocks({{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}})
// CHECK: gpu.shuffle xor
func.func @lower_to_gpu(%x: memref<64x1024xf32>, %o: memref<64x1024xf32>) {
  norm.layer_norm eps(1.0e-05) ins(%x : memref<64x1024xf32>) outs(%o : memref<64x1024xf32>)
  return
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.norm.lower_to_gpu options = "block-size=128"
    } : !transform.any_op
    transform.yield
  }
}
