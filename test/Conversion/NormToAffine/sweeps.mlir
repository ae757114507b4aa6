// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=4 prefetch=false one-pass-variance=false parallel-threshold=0" | FileCheck %s

// LayerNorm, N = 4099 = 64 * 64 + 3: a parallel row loop; three sweeps, the
// statistics ones with four vector accumulators and one masked vector for
// the last three elements.
// CHECK-LABEL: func @layer_norm_tail
// CHECK-SAME: (%[[X:.*]]: memref<?x4099xf32>, %[[G:.*]]: memref<4099xf32>, %[[B:.*]]: memref<4099xf32>, %[[O:.*]]: memref<?x4099xf32>)
// CHECK:      %[[ROWS:.*]] = memref.dim %[[X]], %c0
// CHECK:      affine.parallel (%[[R:.*]]) = (0) to (symbol(%[[ROWS]])) {
// The pivot: the row's first element, or 0 if it is not finite.
// CHECK:        %[[FIRST:.*]] = vector.load %[[X]][%[[R]], %{{.*}}] : memref<?x4099xf32>, vector<1xf32>
// CHECK:        %[[P0:.*]] = vector.extract %[[FIRST]][0]
// CHECK:        %[[BELOW:.*]] = arith.cmpf olt, %[[P0]], %{{.*}} : f32
// CHECK:        %[[ABOVE:.*]] = arith.cmpf ogt, %[[P0]], %{{.*}} : f32
// CHECK:        %[[FINITE:.*]] = arith.andi %[[BELOW]], %[[ABOVE]] : i1
// CHECK:        %[[P:.*]] = arith.select %[[FINITE]], %[[P0]], %{{.*}} : f32
// CHECK:        %[[PV:.*]] = vector.broadcast %[[P]] : f32 to vector<16xf32>
// Sweep 1: sum(h - p).
// CHECK:        %[[S:.*]]:4 = affine.for %[[I:.*]] = 0 to 4096 step 64 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:          vector.load %[[X]][%[[R]], %[[I]]] : memref<?x4099xf32>, vector<16xf32>
// CHECK:          arith.subf %{{.*}}, %[[PV]]
// CHECK:          arith.addf
// CHECK-COUNT-3:  vector.load %[[X]]
// CHECK:          affine.yield
// CHECK:        %[[MASK:.*]] = vector.create_mask %c3{{.*}} : vector<16xi1>
// CHECK:        vector.maskedload %[[X]][%[[R]], %c4096{{.*}}], %[[MASK]]
// CHECK:        arith.select %[[MASK]]
// CHECK:        %[[SUM:.*]] = vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<16xf32> into f32
// CHECK:        %[[AVG:.*]] = arith.divf %[[SUM]], %cst
// CHECK:        %[[DV:.*]] = vector.broadcast %[[AVG]] : f32 to vector<16xf32>
// Sweep 2: sum((((h - p) - d) * c)^2), squares and sums contractible to
// FMAs; centred by p, then by d = mean - p, never by the rounded mean.
// CHECK:        affine.for %{{.*}} = 0 to 4096 step 64 iter_args
// CHECK:          %[[H2:.*]] = vector.load %[[X]]
// CHECK:          %[[C0:.*]] = arith.subf %[[H2]], %[[PV]]
// CHECK:          %[[C1:.*]] = arith.subf %[[C0]], %[[DV]]
// CHECK:          arith.mulf %[[C1]]
// CHECK:          arith.mulf %{{.*}} fastmath<contract>
// CHECK:          arith.addf %{{.*}} fastmath<contract>
// CHECK:        vector.maskedload
// CHECK:        %[[VAR:.*]] = vector.reduction <add>
// CHECK:        %[[VE:.*]] = arith.addf %[[VAR]], %{{.*}} : f32
// CHECK:        %[[RSQRT:.*]] = math.rsqrt %[[VE]]
// CHECK:        %[[ISINF:.*]] = arith.cmpf oeq, %[[VAR]], %{{.*}} : f32
// CHECK:        %[[RSTD:.*]] = arith.select %[[ISINF]], %{{.*}}, %[[RSQRT]]
// Sweep 3: normalise and store, gamma and beta loaded as vectors.
// CHECK:        affine.for %[[J:.*]] = 0 to 4096 step 64 {
// CHECK:          %[[H3:.*]] = vector.load %[[X]][%[[R]], %[[J]]]
// CHECK:          %[[N0:.*]] = arith.subf %[[H3]], %[[PV]]
// CHECK:          arith.subf %[[N0]], %[[DV]]
// CHECK:          vector.load %[[G]][%[[J]]]
// CHECK:          vector.load %[[B]][%[[J]]]
// CHECK:          vector.store %{{.*}}, %[[O]][%[[R]], %[[J]]] : memref<?x4099xf32>, vector<16xf32>
// The 3-element tail: a short vector store (static length, no mask).
// CHECK:        vector.store %{{.*}}, %[[O]][%[[R]], %c4096{{.*}}] : memref<?x4099xf32>, vector<3xf32>
// CHECK-NOT:  memref.alloc
func.func @layer_norm_tail(%x: memref<?x4099xf32>, %g: memref<4099xf32>, %b: memref<4099xf32>, %o: memref<?x4099xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<?x4099xf32>) gamma(%g : memref<4099xf32>) beta(%b : memref<4099xf32>) outs(%o : memref<?x4099xf32>)
  return
}

// -----

// RMSNorm, N = 768 = 12 * 64: one statistics sweep (the scaled sum of
// squares), no pivot, no tail.
// CHECK-LABEL: func @rms_norm_whole_vectors
// CHECK:       affine.parallel (%{{.*}}) = (0) to (16)
// CHECK-NOT:     vector.extract
// CHECK:         affine.for %{{.*}} = 0 to 768 step 64 iter_args
// CHECK-NOT:     vector.maskedload
// CHECK:         vector.reduction <add>
// CHECK:         math.rsqrt
// CHECK:         affine.for %{{.*}} = 0 to 768 step 64 {
// CHECK-NOT:     vector.mask
// CHECK-NOT:     affine.for
func.func @rms_norm_whole_vectors(%x: memref<16x768xf32>, %g: memref<768xf32>, %o: memref<16x768xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<16x768xf32>) gamma(%g : memref<768xf32>) outs(%o : memref<16x768xf32>)
  return
}

// -----

// N = 100: 64 in the unrolled loop, two single vectors, then 4 masked.
// CHECK-LABEL: func @remainder_vectors
// CHECK:         affine.for %{{.*}} = 0 to 64 step 64 iter_args
// CHECK:         affine.for %{{.*}} = 64 to 96 step 16 iter_args
// CHECK:         vector.create_mask %c4
func.func @remainder_vectors(%x: memref<2x100xf32>, %o: memref<2x100xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<2x100xf32>) outs(%o : memref<2x100xf32>)
  return
}

// -----

// Dynamic N: loop bounds are affine functions of it, the pivot load is
// guarded against an empty row, and the tail is taken when N mod 16 != 0.
// A sum over a run-time length keeps 4x unroll accumulators: 16 vectors a
// step.
// CHECK-DAG:   #[[MAIN:.*]] = affine_map<()[s0] -> ((s0 floordiv 256) * 256)>
// CHECK-DAG:   #[[WHOLE:.*]] = affine_map<()[s0] -> ((s0 floordiv 16) * 16)>
// CHECK-DAG:   #[[REM:.*]] = affine_map<()[s0] -> (s0 mod 16)>
// CHECK-LABEL: func @dynamic
// CHECK:         %[[N:.*]] = memref.dim %{{.*}}, %c1
// CHECK:         affine.parallel
// CHECK:           %[[NONEMPTY:.*]] = arith.cmpi ne, %[[N]], %c0
// CHECK:           scf.if %{{.*}} -> (f32)
// CHECK:           affine.for %{{.*}} = 0 to #[[MAIN]]()[%[[N]]] step 256
// CHECK:           affine.for %{{.*}} = #[[MAIN]]()[%[[N]]] to #[[WHOLE]]()[%[[N]]] step 16
// CHECK:           %[[COUNT:.*]] = affine.apply #[[REM]]()[%[[N]]]
// CHECK:           %[[HAS:.*]] = arith.cmpi ne, %[[COUNT]], %c0
// CHECK:           scf.if %[[HAS]] -> (vector<16xf32>)
// CHECK:             vector.create_mask %[[COUNT]]
func.func @dynamic(%x: memref<?x?xf32>, %o: memref<?x?xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<?x?xf32>) outs(%o : memref<?x?xf32>)
  return
}

// -----

// f16 in, f16 out: loads extended to f32, one rounding on store; gamma in
// f32 is used as it is.
// CHECK-LABEL: func @half
// CHECK:         vector.load %{{.*}} : memref<8x512xf16>, vector<16xf16>
// CHECK:         arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// CHECK:         vector.load %{{.*}} : memref<512xf32>, vector<16xf32>
// CHECK-NEXT:    arith.mulf
// CHECK-NEXT:    arith.truncf %{{.*}} : vector<16xf32> to vector<16xf16>
// CHECK-NEXT:    vector.store %{{.*}} : memref<8x512xf16>, vector<16xf16>
func.func @half(%x: memref<8x512xf16>, %g: memref<512xf32>, %o: memref<8x512xf16>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<8x512xf16>) gamma(%g : memref<512xf32>) outs(%o : memref<8x512xf16>)
  return
}

// -----

// f64 is computed in f64: half as many lanes.
// CHECK-LABEL: func @double
// CHECK:         vector.load %{{.*}} : memref<4x96xf64>, vector<8xf64>
// CHECK:         vector.reduction <add>, %{{.*}} : vector<8xf64> into f64
func.func @double(%x: memref<4x96xf64>, %o: memref<4x96xf64>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<4x96xf64>) outs(%o : memref<4x96xf64>)
  return
}

// -----

// A runtime eps operand is converted to the compute type once, outside the
// rows.
// CHECK-LABEL: func @eps_operand
// CHECK-SAME:    %[[E:[^:]*]]: f16)
// CHECK:         %[[E32:.*]] = arith.extf %[[E]] : f16 to f32
// CHECK:         affine.parallel
// CHECK:           arith.addf %{{.*}}, %[[E32]] : f32
func.func @eps_operand(%x: memref<4x96xf32>, %o: memref<4x96xf32>, %e: f16) {
  norm.rms_norm eps(%e : f16) ins(%x : memref<4x96xf32>) outs(%o : memref<4x96xf32>)
  return
}
