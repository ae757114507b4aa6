// RUN: norm-opt %s -split-input-file --convert-norm-to-gpu --canonicalize --cse | FileCheck %s

// LayerNorm gradient, saved statistics, every output. 2000 rows of 16 f32:
// one thread holds a row (four 4-element vectors) and a block 256 rows, so
// the 1024 row slots (S = min(M, 1024)) are 4 blocks, and each slot takes
// rows s and s + 1024 (two iterations; slot s >= 976 has no second row and
// neither stores nor accumulates). Each thread's dgamma/dbeta partials
// stay in registers across its rows and are stored once into its partial
// rows [S, N]; a second launch sums the 1024 partial rows in slot order,
// one thread per vector of columns. No atomics.
// CHECK-LABEL: func.func @layer_norm_grad
// CHECK-SAME: (%[[X:[^:]*]]: memref<2000x16xf32>, %[[DY:[^:]*]]: memref<2000x16xf32>, %[[G:[^:]*]]: memref<16xf32>, %[[M:[^:]*]]: memref<2000xf32>, %[[R:[^:]*]]: memref<2000xf32>, %[[DX:[^:]*]]: memref<2000x16xf32>, %[[DG:[^:]*]]: memref<16xf32>, %[[DB:[^:]*]]: memref<16xf32>)
// CHECK-NOT: norm.layer_norm_grad
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C1024:.*]] = arith.constant 1024 : index
// CHECK-DAG: %[[C2000:.*]] = arith.constant 2000 : index
// CHECK-DAG: %[[C1999:.*]] = arith.constant 1999 : index
// CHECK: %[[PG:.*]] = memref.alloc() : memref<1024x16xf32>
// CHECK: %[[PB:.*]] = memref.alloc() : memref<1024x16xf32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[C4]], {{.*}}) threads({{.*}}) in ({{.*}} = %c256,
// CHECK:   vector.load %[[G]]
// CHECK:   %[[ACC:.*]]:32 = scf.for %[[IT:.*]] = %c0 to %c2 step %c1 iter_args(
// CHECK:     %[[OFF:.*]] = arith.muli %[[IT]], %[[C1024]]
// CHECK:     %[[ROW:.*]] = arith.addi %{{.*}}, %[[OFF]]
// CHECK:     %[[VALID:.*]] = arith.cmpi ult, %[[ROW]], %[[C2000]]
// CHECK:     %[[LOAD:.*]] = arith.minui %[[ROW]], %[[C1999]]
// CHECK:     memref.load %[[M]][%[[LOAD]]]
// CHECK:     memref.load %[[R]][%[[LOAD]]]
// CHECK:     vector.load %[[X]][%[[LOAD]], %c0]
// CHECK:     vector.load %[[DY]][%[[LOAD]], %c0]
// CHECK:     scf.if %[[VALID]] {
// CHECK:       vector.store %{{.*}}, %[[DX]][%[[ROW]], %c0]
// CHECK:     scf.yield
// CHECK:   vector.store %{{.*}}, %[[PG]][%{{.*}}, %c0]
// CHECK:   vector.store %{{.*}}, %[[PB]][%{{.*}}, %c0]
// CHECK:   gpu.terminator
// CHECK: gpu.launch
// CHECK:   scf.for %[[S:.*]] = %c0 to %[[C1024]] step %c1
// CHECK:     vector.load %[[PG]][%[[S]], %{{.*}}]
// CHECK:     vector.load %[[PB]][%[[S]], %{{.*}}]
// CHECK:   vector.store %{{.*}}, %[[DG]]
// CHECK:   vector.store %{{.*}}, %[[DB]]
// CHECK: memref.dealloc %[[PG]]
// CHECK: memref.dealloc %[[PB]]
// CHECK-NOT: atomic
func.func @layer_norm_grad(%x: memref<2000x16xf32>, %dy: memref<2000x16xf32>, %g: memref<16xf32>,
    %m: memref<2000xf32>, %r: memref<2000xf32>, %dx: memref<2000x16xf32>, %dg: memref<16xf32>, %db: memref<16xf32>) {
  norm.layer_norm_grad ins(%x : memref<2000x16xf32>) dy(%dy : memref<2000x16xf32>) gamma(%g : memref<16xf32>)
      mean(%m : memref<2000xf32>) rstd(%r : memref<2000xf32>)
      outs dx(%dx : memref<2000x16xf32>) dgamma(%dg : memref<16xf32>) dbeta(%db : memref<16xf32>)
  return
}

// -----

// RMSNorm gradient, dx only, statistics recomputed, dynamic rows: the
// forward kernel writes rstd into a temporary of M elements (it stores no
// output), then one launch of a slot per row (one iteration each), under
// M > 0. No partial rows, no second launch.
// CHECK-LABEL: func.func @rms_norm_grad_recomputed
// CHECK-NOT: norm.rms_norm_grad
// CHECK: %[[ROWS:.*]] = memref.dim %{{.*}}, %c0 : memref<?x1024xbf16>
// CHECK: %[[RSTD:.*]] = memref.alloc(%[[ROWS]]) : memref<?xf32>
// CHECK: scf.if
// CHECK:   gpu.launch
// CHECK:     math.rsqrt
// CHECK:     memref.store %{{.*}}, %[[RSTD]]
// CHECK-NOT: vector.store
// CHECK:     gpu.terminator
// CHECK: scf.if
// CHECK:   gpu.launch
// CHECK:     memref.load %[[RSTD]]
// CHECK:     vector.store
// CHECK:     gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: memref.dealloc %[[RSTD]]
func.func @rms_norm_grad_recomputed(%x: memref<?x1024xbf16>, %dy: memref<?x1024xbf16>, %dx: memref<?x1024xbf16>) {
  norm.rms_norm_grad eps(1.0e-06) ins(%x : memref<?x1024xbf16>) dy(%dy : memref<?x1024xbf16>)
      outs dx(%dx : memref<?x1024xbf16>)
  return
}
