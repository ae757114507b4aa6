// RUN: norm-opt %s -split-input-file -transform-interpreter -canonicalize -cse | FileCheck %s

// Tiling along the rows with dynamic scales: per token the scales are
// sliced along the rows (like rstd), per group as slabs of whole rows of
// groups; the quantised output as slabs of whole rows.

// CHECK-LABEL: func @tile_per_group
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[A0:.*]] = %{{.*}}, %[[A1:.*]] = %{{.*}})
// CHECK:   %[[SZ:.*]] = affine.min
// CHECK:   %[[XS:.*]] = tensor.extract_slice %{{.*}}[%[[I]], 0] [%[[SZ]], 256] [1, 1] : tensor<?x256xf32> to tensor<?x256xf32>
// CHECK:   %[[OS:.*]] = tensor.extract_slice %[[A0]][%[[I]], 0] [%[[SZ]], 256] [1, 1] : tensor<?x256xi8> to tensor<?x256xi8>
// CHECK:   %[[SS:.*]] = tensor.extract_slice %[[A1]][%[[I]], 0] [%[[SZ]], 4] [1, 1] : tensor<?x4xf32> to tensor<?x4xf32>
// CHECK:   %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[XS]] : tensor<?x256xf32>) outs(%[[OS]] : tensor<?x256xi8>) scales(%[[SS]] : tensor<?x4xf32>) group_size(64)
// CHECK:   tensor.insert_slice %[[Y]]#0 into %[[A0]][%[[I]], 0] [%[[SZ]], 256] [1, 1]
// CHECK:   tensor.insert_slice %[[Y]]#1 into %[[A1]][%[[I]], 0] [%[[SZ]], 4] [1, 1]
func.func @tile_per_group(%x: tensor<?x256xf32>, %o: tensor<?x256xi8>, %s: tensor<?x4xf32>) -> (tensor<?x256xi8>, tensor<?x4xf32>) {
  %y:2 = norm.rms_norm eps(1.0e-06) ins(%x : tensor<?x256xf32>) outs(%o : tensor<?x256xi8>) scales(%s : tensor<?x4xf32>) group_size(64) -> tensor<?x256xi8>, tensor<?x4xf32>
  return %y#0, %y#1 : tensor<?x256xi8>, tensor<?x4xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.rms_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_for %op tile_sizes [4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// CHECK-LABEL: func @tile_per_token
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[A0:.*]] = %{{.*}}, %[[A1:.*]] = %{{.*}})
// CHECK:   %[[SZ:.*]] = affine.min
// CHECK:   %[[SS:.*]] = tensor.extract_slice %[[A1]][%[[I]]] [%[[SZ]]] [1] : tensor<?xf32> to tensor<?xf32>
// CHECK:   %[[Y:.*]]:2 = norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<?x256xf32>) outs(%{{.*}} : tensor<?x256xf8E4M3FN>) scales(%[[SS]] : tensor<?xf32>) min_scale({{.*}})
// CHECK:   tensor.insert_slice %[[Y]]#1 into %[[A1]][%[[I]]] [%[[SZ]]] [1]
func.func @tile_per_token(%x: tensor<?x256xf32>, %o: tensor<?x256xf8E4M3FN>, %s: tensor<?xf32>) -> (tensor<?x256xf8E4M3FN>, tensor<?xf32>) {
  %y:2 = norm.layer_norm eps(1.0e-05) ins(%x : tensor<?x256xf32>) outs(%o : tensor<?x256xf8E4M3FN>) scales(%s : tensor<?xf32>) min_scale(1.0e-6) -> tensor<?x256xf8E4M3FN>, tensor<?xf32>
  return %y#0, %y#1 : tensor<?x256xf8E4M3FN>, tensor<?xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["norm.layer_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_for %op tile_sizes [4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
