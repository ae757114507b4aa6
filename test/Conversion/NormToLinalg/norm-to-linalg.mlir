// RUN: norm-opt %s -split-input-file -convert-norm-to-linalg | FileCheck %s

// LayerNorm: a pivoted sum (pivot p = the row's first element, or 0 if it
// is not finite), the offset d = mean - p, a centred and scaled sum of
// squares, rsqrt, then one elementwise output. Elements are centred as
// (x - p) - d, never by the rounded mean p + d.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[PIVOT:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[NORM:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[G:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK-NOT: norm.layer_norm
// CHECK: %[[N:.*]] = arith.constant 8.000000e+00 : f32
// CHECK: %[[SQRTN:.*]] = math.sqrt %[[N]]
// CHECK: %[[C:.*]] = arith.divf %{{.*}}, %[[SQRTN]]
// CHECK: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: %[[SUMS:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[PIVOT]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[X]] :
// CHECK:   ^bb0(%[[XV:.*]]: f32, %[[FIRST:.*]]: f32, %{{.*}}: f32, %[[ACC:.*]]: f32):
// CHECK:   %[[BELOW:.*]] = arith.cmpf olt, %[[FIRST]], %[[INF:.*]] : f32
// CHECK:   %[[ABOVE:.*]] = arith.cmpf ogt, %[[FIRST]], %[[NEGINF:.*]] : f32
// CHECK:   %[[FINITE:.*]] = arith.andi %[[BELOW]], %[[ABOVE]]
// CHECK:   %[[PV:.*]] = arith.select %[[FINITE]], %[[FIRST]], %{{.*}} : f32
// CHECK:   %[[SH:.*]] = arith.subf %[[XV]], %[[PV]]
// CHECK:   %[[ADD:.*]] = arith.addf %[[ACC]], %[[SH]]
// CHECK:   linalg.yield %[[PV]], %[[ADD]]
// CHECK: %[[OFFSET:.*]] = linalg.generic {{.*}} ins(%[[SUMS]]#0, %[[SUMS]]#1 :
// CHECK:   %[[DV:.*]] = arith.divf %{{.*}}, %[[N]]
// CHECK-NEXT: linalg.yield %[[DV]]
// CHECK: %[[VAR:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[SUMS]]#0, %[[OFFSET]] :
// CHECK:   ^bb0(%[[XS:.*]]: f32, %[[PS:.*]]: f32, %[[DS:.*]]: f32, %{{.*}}: f32):
// CHECK:   %[[S0:.*]] = arith.subf %[[XS]], %[[PS]]
// CHECK:   %[[S1:.*]] = arith.subf %[[S0]], %[[DS]]
// CHECK:   %[[T:.*]] = arith.mulf %[[S1]], %[[C]]
// CHECK:   %[[SQ:.*]] = arith.mulf %[[T]], %[[T]]
// CHECK:   arith.addf %{{.*}}, %[[SQ]]
// CHECK: %[[RSTD:.*]] = linalg.generic {{.*}} ins(%[[VAR]] :
// CHECK:   %[[VE:.*]] = arith.addf %{{.*}}, %[[EPS]]
// CHECK:   math.rsqrt %[[VE]]
// CHECK: %[[OUT:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[ROW]], #[[NORM]], #[[NORM]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[RSTD]], %[[SUMS]]#0, %[[OFFSET]], %[[G]], %[[B]] :
// CHECK:   ^bb0(%[[XO:.*]]: f32, %[[RO:.*]]: f32, %[[PO:.*]]: f32, %[[DO:.*]]: f32, %[[GO:.*]]: f32, %[[BO:.*]]: f32, %{{.*}}: f32):
// CHECK:   %[[Y0:.*]] = arith.subf %[[XO]], %[[PO]]
// CHECK:   %[[Y1:.*]] = arith.subf %[[Y0]], %[[DO]]
// CHECK:   %[[Y2:.*]] = arith.mulf %[[Y1]], %[[RO]]
// CHECK:   %[[Y3:.*]] = arith.mulf %[[Y2]], %[[GO]]
// CHECK:   %[[Y4:.*]] = arith.addf %[[Y3]], %[[BO]]
// CHECK:   linalg.yield %[[Y4]]
// CHECK: return %[[OUT]]
func.func @layer_norm(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %o = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x8xf32>) gamma(%g : tensor<8xf32>) beta(%b : tensor<8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// RMSNorm on bf16: no mean; f32 accumulation; an infinite mean square gives
// NaN; one rounding at the end.
// CHECK-LABEL: func @rms_norm_bf16
// CHECK-NOT: affine_map<(d0, d1) -> (d0, 0)>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<2x16xbf16>) outs(%{{.*}} : tensor<2xf32>)
// CHECK:   ^bb0(%[[IN:.*]]: bf16, %[[ACC:.*]]: f32):
// CHECK:   %[[E:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK:   %[[T:.*]] = arith.mulf %[[E]], %{{.*}}
// CHECK:   arith.mulf %[[T]], %[[T]]
// CHECK: linalg.generic
// CHECK:   math.rsqrt
// CHECK:   %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK:   %[[NAN:.*]] = arith.constant 0x7FC00000 : f32
// CHECK:   %[[ISINF:.*]] = arith.cmpf oeq, %{{.*}}, %[[INF]]
// CHECK:   arith.select %[[ISINF]], %[[NAN]]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK:   arith.mulf
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK:   arith.mulf
// CHECK:   %[[R:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK:   linalg.yield %[[R]] : bf16
func.func @rms_norm_bf16(%x: tensor<2x16xbf16>, %g: tensor<16xbf16>) -> tensor<2x16xbf16> {
  %o = tensor.empty() : tensor<2x16xbf16>
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<2x16xbf16>) gamma(%g : tensor<16xbf16>) outs(%o : tensor<2x16xbf16>) -> tensor<2x16xbf16>
  return %y : tensor<2x16xbf16>
}

// -----

// Dynamic shapes: N comes from the dims; a runtime f16 eps is extended.
// CHECK-LABEL: func @dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x?xf32>, %[[E:.*]]: f16, %[[O:.*]]: tensor<?x?x?xf32>)
// CHECK-DAG: %[[D0:.*]] = tensor.dim %[[X]], %c0
// CHECK-DAG: %[[D1:.*]] = tensor.dim %[[X]], %c1
// CHECK-DAG: %[[D2:.*]] = tensor.dim %[[X]], %c2
// CHECK: %[[M:.*]] = arith.muli %[[D1]], %[[D2]]
// CHECK: %[[I:.*]] = arith.index_castui %[[M]] : index to i64
// CHECK: arith.uitofp %[[I]] : i64 to f32
// CHECK: arith.extf %[[E]] : f16 to f32
// CHECK: tensor.empty(%[[D0]]) : tensor<?xf32>
func.func @dynamic(%x: tensor<?x?x?xf32>, %e: f16, %o: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %y = norm.layer_norm axis(1) eps(%e : f16) ins(%x : tensor<?x?x?xf32>) outs(%o : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

// -----

// Memrefs: temporaries are allocated and freed around the DAG; the
// destinations are written in place.
// CHECK-LABEL: func @memref
// CHECK-SAME: (%[[X:.*]]: memref<3x5xf16>, %[[O:.*]]: memref<3x5xf16>)
// CHECK: %[[ACC:.*]] = memref.alloc() : memref<3xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[ACC]] : memref<3xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<3x5xf16>) outs(%[[ACC]] : memref<3xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[O]] : memref<3x5xf16>)
// CHECK: memref.dealloc %[[ACC]]
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func @memref(%x: memref<3x5xf16>, %o: memref<3x5xf16>) {
  norm.rms_norm eps(1.0e-06) ins(%x : memref<3x5xf16>) outs(%o : memref<3x5xf16>)
  return
}

// -----

// Residual: h = x + r is computed in f32, rounded to the input type, written
// to residual_out and normalised; mean (p + d) and rstd are written
// (rounded) to their destinations.
// CHECK-LABEL: func @extras
// CHECK: %[[H:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<2x8xf16>, tensor<2x8xf16>) outs(%{{.*}} : tensor<2x8xf16>)
// CHECK:   %[[A:.*]] = arith.extf
// CHECK:   %[[B:.*]] = arith.extf
// CHECK:   %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK:   %[[T:.*]] = arith.truncf %[[S]] : f32 to f16
// CHECK:   linalg.yield %[[T]]
// CHECK: %[[SUMS:.*]]:2 = linalg.generic {{.*}} ins(%[[H]], %[[H]] :
// CHECK: %[[MEAN:.*]]:2 = linalg.generic {{.*}} ins(%[[SUMS]]#0, %[[SUMS]]#1 : {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xf16>)
// CHECK:   ^bb0(%[[P:.*]]: f32, %[[S:.*]]: f32, %{{.*}}: f32, %{{.*}}: f16):
// CHECK:   %[[D:.*]] = arith.divf %[[S]]
// CHECK:   %[[M:.*]] = arith.addf %[[P]], %[[D]]
// CHECK:   %[[MT:.*]] = arith.truncf %[[M]] : f32 to f16
// CHECK:   linalg.yield %[[D]], %[[MT]]
// CHECK: %[[RSTD:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xf32>)
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[H]], %[[RSTD]]#0, %[[SUMS]]#0, %[[MEAN]]#0 :
// CHECK: return %[[OUT]], %[[H]], %[[MEAN]]#1, %[[RSTD]]#1
func.func @extras(%x: tensor<2x8xf16>, %r: tensor<2x8xf16>) -> (tensor<2x8xf32>, tensor<2x8xf16>, tensor<2xf16>, tensor<2xf32>) {
  %o = tensor.empty() : tensor<2x8xf32>
  %s = tensor.empty() : tensor<2x8xf16>
  %m = tensor.empty() : tensor<2xf16>
  %v = tensor.empty() : tensor<2xf32>
  %y:4 = norm.layer_norm eps(1.0e-05) ins(%x : tensor<2x8xf16>) residual(%r : tensor<2x8xf16>) outs(%o : tensor<2x8xf32>) residual_out(%s : tensor<2x8xf16>) mean(%m : tensor<2xf16>) rstd(%v : tensor<2xf32>) -> tensor<2x8xf32>, tensor<2x8xf16>, tensor<2xf16>, tensor<2xf32>
  return %y#0, %y#1, %y#2, %y#3 : tensor<2x8xf32>, tensor<2x8xf16>, tensor<2xf16>, tensor<2xf32>
}

// -----

// Other ops are left exactly as they were.
// CHECK-LABEL: func @untouched
// CHECK: %[[C:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[A:.*]] = arith.addf %[[C]], %[[C]] : f32
// CHECK: return %[[A]]
func.func @untouched() -> f32 {
  %c = arith.constant 1.0 : f32
  %a = arith.addf %c, %c : f32
  return %a : f32
}
