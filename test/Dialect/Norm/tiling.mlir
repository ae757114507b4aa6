// RUN: norm-opt %s -split-input-file -transform-interpreter -canonicalize -cse | FileCheck %s

// Tiling along the rows: each tile is a slab of whole rows; gamma and beta
// are passed whole.
// CHECK-LABEL: func @tile_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<16x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %[[C4]] iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK:   %[[XS:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [4, 64] [1, 1] : tensor<16x64xf32> to tensor<4x64xf32>
// CHECK:   %[[OS:.*]] = tensor.extract_slice %[[ACC]][%[[I]], 0] [4, 64] [1, 1]
// CHECK:   %[[Y:.*]] = norm.layer_norm eps(1.0e-05) ins(%[[XS]] : tensor<4x64xf32>) gamma(%[[G]] : tensor<64xf32>) beta(%[[B]] : tensor<64xf32>) outs(%[[OS]] : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK:   tensor.insert_slice %[[Y]] into %[[ACC]][%[[I]], 0] [4, 64] [1, 1]
func.func @tile_layer_norm(%x: tensor<16x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<16x64xf32> {
  %o = tensor.empty() : tensor<16x64xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<16x64xf32>) gamma(%g : tensor<64xf32>) beta(%b : tensor<64xf32>) outs(%o : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.layer_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_for %op tile_sizes [4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Dynamic rows, several normalised dims, and row-shaped extra results:
// the rstd destination is tiled along the rows only.
// CHECK-LABEL: func @tile_rms_norm_dynamic
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[A0:.*]] = %{{.*}}, %[[A1:.*]] = %{{.*}})
// CHECK:   %[[SZ:.*]] = affine.min
// CHECK:   %[[XS:.*]] = tensor.extract_slice %{{.*}}[%[[I]], 0, 0] [%[[SZ]], 3, 8] [1, 1, 1] : tensor<?x3x8xbf16> to tensor<?x3x8xbf16>
// CHECK:   %[[VS:.*]] = tensor.extract_slice %[[A1]][%[[I]]] [%[[SZ]]] [1] : tensor<?xf32> to tensor<?xf32>
// CHECK:   %{{.*}}:2 = norm.rms_norm axis(1) eps(1.0e-06) ins(%[[XS]] : tensor<?x3x8xbf16>) gamma(%{{.*}} : tensor<3x8xbf16>) outs(%{{.*}} : tensor<?x3x8xbf16>) rstd(%[[VS]] : tensor<?xf32>)
// CHECK:   tensor.insert_slice %{{.*}}#1 into %[[A1]][%[[I]]] [%[[SZ]]] [1]
func.func @tile_rms_norm_dynamic(%x: tensor<?x3x8xbf16>, %g: tensor<3x8xbf16>, %o: tensor<?x3x8xbf16>, %v: tensor<?xf32>) -> (tensor<?x3x8xbf16>, tensor<?xf32>) {
  %y:2 = norm.rms_norm axis(1) eps(1.0e-06) ins(%x : tensor<?x3x8xbf16>) gamma(%g : tensor<3x8xbf16>) outs(%o : tensor<?x3x8xbf16>) rstd(%v : tensor<?xf32>) -> tensor<?x3x8xbf16>, tensor<?xf32>
  return %y#0, %y#1 : tensor<?x3x8xbf16>, tensor<?xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.rms_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_for %op tile_sizes [5] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Tiling into an scf.forall (the parallel form a CPU/GPU distribution uses).
// CHECK-LABEL: func @forall_layer_norm
// CHECK: scf.forall (%{{.*}}) in (4)
// CHECK:   norm.layer_norm axis(1) eps(1.0e-05) ins(%{{.*}} : tensor<32x4x16xf16>) outs(%{{.*}} : tensor<32x4x16xf16>)
// CHECK:   tensor.parallel_insert_slice
func.func @forall_layer_norm(%x: tensor<128x4x16xf16>) -> tensor<128x4x16xf16> {
  %o = tensor.empty() : tensor<128x4x16xf16>
  %y = norm.layer_norm axis(1) eps(1.0e-05) ins(%x : tensor<128x4x16xf16>) outs(%o : tensor<128x4x16xf16>) -> tensor<128x4x16xf16>
  return %y : tensor<128x4x16xf16>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.layer_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %op tile_sizes [32] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// AggregatedOpInterface: the transform dialect decomposes a norm op into
// its linalg DAG.
// CHECK-LABEL: func @decompose
// CHECK-NOT: norm.rms_norm
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: math.rsqrt
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
func.func @decompose(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.rms_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %d = transform.structured.decompose_interface %op : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

// A gradient computing dx alone tiles like the forward ops: slabs of whole
// rows of x, dy, the residual gradient and dx, the saved statistics sliced
// along the rows, gamma whole.
// CHECK-LABEL: func @tile_layer_norm_grad_dx
// CHECK-SAME: (%[[X:[^:]*]]: tensor<16x64xf32>, %[[DY:[^:]*]]: tensor<16x64xf32>, %[[G:[^:]*]]: tensor<64xf32>, %[[M:[^:]*]]: tensor<16xf32>, %[[R:[^:]*]]: tensor<16xf32>, %[[DR:[^:]*]]: tensor<16x64xf32>)
// CHECK: scf.forall (%[[T:.*]]) in (2) shared_outs(%[[ACC:.*]] = %{{.*}})
// CHECK:   %[[I:.*]] = affine.apply #{{.*}}(%[[T]])
// CHECK:   %[[XS:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [8, 64] [1, 1]
// CHECK:   %[[DYS:.*]] = tensor.extract_slice %[[DY]][%[[I]], 0] [8, 64] [1, 1]
// CHECK:   %[[MS:.*]] = tensor.extract_slice %[[M]][%[[I]]] [8] [1]
// CHECK:   %[[RS:.*]] = tensor.extract_slice %[[R]][%[[I]]] [8] [1]
// CHECK:   %[[DRS:.*]] = tensor.extract_slice %[[DR]][%[[I]], 0] [8, 64] [1, 1]
// CHECK:   %[[OS:.*]] = tensor.extract_slice %[[ACC]][%[[I]], 0] [8, 64] [1, 1]
// CHECK:   %[[D:.*]] = norm.layer_norm_grad ins(%[[XS]] : tensor<8x64xf32>) dy(%[[DYS]] : tensor<8x64xf32>) gamma(%[[G]] : tensor<64xf32>) mean(%[[MS]] : tensor<8xf32>) rstd(%[[RS]] : tensor<8xf32>) residual_grad(%[[DRS]] : tensor<8x64xf32>) outs dx(%[[OS]] : tensor<8x64xf32>)
// CHECK:   tensor.parallel_insert_slice %[[D]] into %[[ACC]][%[[I]], 0] [8, 64] [1, 1]
func.func @tile_layer_norm_grad_dx(%x: tensor<16x64xf32>, %dy: tensor<16x64xf32>, %g: tensor<64xf32>,
                                   %m: tensor<16xf32>, %r: tensor<16xf32>, %dr: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %o = tensor.empty() : tensor<16x64xf32>
  %dx = norm.layer_norm_grad ins(%x : tensor<16x64xf32>) dy(%dy : tensor<16x64xf32>) gamma(%g : tensor<64xf32>)
      mean(%m : tensor<16xf32>) rstd(%r : tensor<16xf32>) residual_grad(%dr : tensor<16x64xf32>)
      outs dx(%o : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %dx : tensor<16x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.layer_norm_grad"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %op tile_sizes [8] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
