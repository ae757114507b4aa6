// RUN: norm-opt %s -split-input-file -convert-norm-to-linalg | FileCheck %s

// LayerNorm gradient with saved statistics: one sweep sums wdy = gamma dy
// and wdy xhat over each row (xhat = (x - mean) rstd), a row generic takes
// their means, one elementwise generic forms
// dx = rstd ((wdy - mean(wdy)) - xhat mean(wdy xhat)), and dgamma/dbeta are
// sums over the rows (a reduction over d0, parallel over d1) in f32,
// rounded once into the destinations.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[NORM:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @layer_norm_grad_saved
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x8xf32>, %[[DY:[^:]*]]: tensor<?x8xf32>, %[[G:[^:]*]]: tensor<8xf32>, %[[M:[^:]*]]: tensor<?xf32>, %[[R:[^:]*]]: tensor<?xf32>
// CHECK-NOT: norm.layer_norm_grad
// CHECK: %[[N:.*]] = arith.constant 8.000000e+00 : f32
// CHECK: %[[SUMS:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ROW]], #[[ROW]], #[[NORM]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[DY]], %[[M]], %[[R]], %[[G]] :
// CHECK:   ^bb0(%[[XV:.*]]: f32, %[[DYV:.*]]: f32, %[[MV:.*]]: f32, %[[RV:.*]]: f32, %[[GV:.*]]: f32, %[[A0:.*]]: f32, %[[A1:.*]]: f32):
// CHECK:   %[[C:.*]] = arith.subf %[[XV]], %[[MV]]
// CHECK:   %[[XHAT:.*]] = arith.mulf %[[C]], %[[RV]]
// CHECK:   %[[WDY:.*]] = arith.mulf %[[DYV]], %[[GV]]
// CHECK:   %[[DOT:.*]] = arith.mulf %[[WDY]], %[[XHAT]]
// CHECK:   %[[S0:.*]] = arith.addf %[[A0]], %[[WDY]]
// CHECK:   %[[S1:.*]] = arith.addf %[[A1]], %[[DOT]]
// CHECK:   linalg.yield %[[S0]], %[[S1]]
// CHECK: %[[MEANS:.*]]:2 = linalg.generic {{.*}} ins(%[[SUMS]]#0, %[[SUMS]]#1 :
// CHECK:   arith.divf %{{.*}}, %[[N]]
// CHECK:   arith.divf %{{.*}}, %[[N]]
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[DY]], %[[M]], %[[R]], %[[G]], %[[MEANS]]#0, %[[MEANS]]#1 :
// CHECK:   ^bb0(%[[XE:.*]]: f32, %[[DYE:.*]]: f32, %[[ME:.*]]: f32, %[[RE:.*]]: f32, %[[GE:.*]]: f32, %[[MW:.*]]: f32, %[[MD:.*]]: f32, %{{.*}}: f32):
// CHECK:   %[[CE:.*]] = arith.subf %[[XE]], %[[ME]]
// CHECK:   %[[XH:.*]] = arith.mulf %[[CE]], %[[RE]]
// CHECK:   %[[W:.*]] = arith.mulf %[[DYE]], %[[GE]]
// CHECK:   %[[T0:.*]] = arith.subf %[[W]], %[[MW]]
// CHECK:   %[[T1:.*]] = arith.mulf %[[XH]], %[[MD]]
// CHECK:   %[[T2:.*]] = arith.subf %[[T0]], %[[T1]]
// CHECK:   %[[T3:.*]] = arith.mulf %[[RE]], %[[T2]]
// CHECK:   linalg.yield %[[T3]]
// CHECK: %[[COLS:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ROW]], #[[ROW]], #[[NORM]], #[[NORM]]], iterator_types = ["reduction", "parallel"]} ins(%[[X]], %[[DY]], %[[M]], %[[R]] :
// CHECK:   arith.mulf
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK:   arith.addf
// CHECK: %[[FINAL:.*]]:2 = linalg.generic {{.*}} ins(%[[COLS]]#0, %[[COLS]]#1 : tensor<8xf32>, tensor<8xf32>) outs(%{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>)
// CHECK: return %[[DX]], %[[FINAL]]#0, %[[FINAL]]#1
func.func @layer_norm_grad_saved(%x: tensor<?x8xf32>, %dy: tensor<?x8xf32>, %g: tensor<8xf32>,
                                 %m: tensor<?xf32>, %r: tensor<?xf32>, %dxi: tensor<?x8xf32>,
                                 %dgi: tensor<8xf32>, %dbi: tensor<8xf32>)
    -> (tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %dx, %dg, %db = norm.layer_norm_grad ins(%x : tensor<?x8xf32>) dy(%dy : tensor<?x8xf32>)
      gamma(%g : tensor<8xf32>) mean(%m : tensor<?xf32>) rstd(%r : tensor<?xf32>)
      outs dx(%dxi : tensor<?x8xf32>) dgamma(%dgi : tensor<8xf32>) dbeta(%dbi : tensor<8xf32>)
      -> tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %dx, %dg, %db : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// RMSNorm gradient on memrefs, statistics recomputed: the forward op's own
// statistics stages (the scaled sum of squares, rstd) come first, then one
// row sum (no mean(wdy) term), dx with bf16 rounded once after the
// residual gradient is added, and every temporary freed.
// CHECK-LABEL: func @rms_norm_grad_recomputed
// CHECK-SAME: (%[[X:[^:]*]]: memref<4x8xbf16>, %[[DY:[^:]*]]: memref<4x8xbf16>, %[[DX:[^:]*]]: memref<4x8xbf16>, %[[DR:[^:]*]]: memref<4x8xbf16>)
// CHECK: %[[SQ:.*]] = memref.alloc() : memref<4xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : memref<4x8xbf16>) outs(%[[SQ]] : memref<4xf32>)
// CHECK: %[[RSTD:.*]] = memref.alloc() : memref<4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[SQ]] : memref<4xf32>) outs(%[[RSTD]] : memref<4xf32>)
// CHECK:   math.rsqrt
// CHECK: %[[SUM:.*]] = memref.alloc() : memref<4xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[DY]], %[[RSTD]] : memref<4x8xbf16>, memref<4x8xbf16>, memref<4xf32>) outs(%[[SUM]] : memref<4xf32>)
// CHECK-NOT: arith.subf
// CHECK: linalg.yield
// CHECK: %[[MEAN:.*]] = memref.alloc() : memref<4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : memref<4xf32>) outs(%[[MEAN]] : memref<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[DY]], %[[RSTD]], %[[MEAN]], %[[DR]] : {{.*}}) outs(%[[DX]] : memref<4x8xbf16>)
// CHECK:   %[[G:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:   %[[EXT:.*]] = arith.extf %{{.*}} : bf16 to f32
// CHECK:   %[[SUMDR:.*]] = arith.addf %{{.*}}, %[[EXT]] : f32
// CHECK:   %[[ROUND:.*]] = arith.truncf %[[SUMDR]] : f32 to bf16
// CHECK:   linalg.yield %[[ROUND]]
// CHECK-DAG: memref.dealloc %[[SQ]]
// CHECK-DAG: memref.dealloc %[[RSTD]]
// CHECK-DAG: memref.dealloc %[[SUM]]
// CHECK-DAG: memref.dealloc %[[MEAN]]
// CHECK: return
func.func @rms_norm_grad_recomputed(%x: memref<4x8xbf16>, %dy: memref<4x8xbf16>,
                                    %dx: memref<4x8xbf16>, %dr: memref<4x8xbf16>) {
  norm.rms_norm_grad eps(1.0e-06) ins(%x : memref<4x8xbf16>) dy(%dy : memref<4x8xbf16>)
      residual_grad(%dr : memref<4x8xbf16>) outs dx(%dx : memref<4x8xbf16>)
  return
}

// -----

// dgamma alone over two leading row dims: the column sums reduce d0 and d1.
// CHECK-LABEL: func @rms_norm_dgamma_3d
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "parallel"]}
// CHECK-NOT: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @rms_norm_dgamma_3d(%x: tensor<2x3x16xf16>, %dy: tensor<2x3x16xf16>, %r: tensor<2x3xf32>,
                              %dgi: tensor<16xf16>) -> tensor<16xf16> {
  %dg = norm.rms_norm_grad ins(%x : tensor<2x3x16xf16>) dy(%dy : tensor<2x3x16xf16>)
      rstd(%r : tensor<2x3xf32>) outs dgamma(%dgi : tensor<16xf16>) -> tensor<16xf16>
  return %dg : tensor<16xf16>
}
