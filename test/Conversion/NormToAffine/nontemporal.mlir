// Non-temporal stores (x86's streaming stores, with their sfence) and
// prefetching of the next row.
// REQUIRES: x86-host
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16 unroll=1 nontemporal-threshold=100000 prefetch=true parallel-threshold=0" | FileCheck %s --check-prefix=NT
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="parallel-threshold=0" | FileCheck %s --check-prefix=DEFAULT

// 64 x 1000 bf16 = 128000 bytes >= the threshold: every row is stored
// non-temporally, the first elements up to a 64-byte boundary (32 bf16)
// with a masked store, the aligned vectors, then the rest masked. A bf16
// output takes vectors of a whole cache line (32 lanes, not 16), rounded in
// integer arithmetic: LLVM keeps the non-temporal hint of neither a
// narrower truncating store nor one fed by x86's bf16 conversion. The next
// row's input is prefetched as this one is normalised: both cache lines of
// each 32 x f32 vector step.
// NT-DAG:     #[[HEAD:.*]] = affine_map<(d0) -> ({{.*}}d0 mod 64{{.*}} mod 64{{.*}} floordiv 2)>
// NT-DAG:     #[[NEXT:.*]] = affine_map<(d0) -> (d0 + 1, 63)>
// NT-LABEL:   func @static_large
// NT-SAME:      %[[X:[^:]*]]: memref<64x1000xf32>, %[[O:[^:]*]]: memref<64x1000xbf16>
// NT:         affine.parallel (%[[R:.*]]) = (0) to (64)
// NT:           %[[NR:.*]] = affine.min #[[NEXT]](%[[R]])
// NT-NOT:       scf.if %true
// NT:           memref.extract_strided_metadata %[[O]]
// NT:           %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[O]]
// NT:           %[[ADDR:.*]] = arith.addi %[[PTR]]
// NT:           %[[MIS:.*]] = affine.apply #[[HEAD]](%[[ADDR]])
// NT:           %[[H:.*]] = arith.minui %[[MIS]], %c1000
// NT:           scf.if
// NT:             vector.create_mask %[[H]]
// NT:             vector.maskedstore %[[O]][%[[R]], %c0]
// NT:           scf.for %[[I:.*]] = %[[H]] to %{{.*}} step %c32
// NT:             memref.prefetch %[[X]][%[[NR]], %[[I]]], read, locality<3>, data
// NT:             %[[I16:.*]] = arith.addi %[[I]], %c16
// NT:             memref.prefetch %[[X]][%[[NR]], %[[I16]]], read, locality<3>, data
// NT-NOT:         memref.prefetch
// NT:             %[[BITS:.*]] = arith.bitcast %{{.*}} : vector<32xf32> to vector<32xi32>
// NT:             %[[NARROW:.*]] = arith.trunci %{{.*}} : vector<32xi32> to vector<32xi16>
// NT:             %[[BF16:.*]] = arith.bitcast %[[NARROW]] : vector<32xi16> to vector<32xbf16>
// NT:             vector.store %[[BF16]], %[[O]][%[[R]], %[[I]]] {alignment = 64 : i64, nontemporal = true} : memref<64x1000xbf16>, vector<32xbf16>
// NT:           scf.if
// NT:             vector.maskedstore
// After the rows, once:
// NT:         llvm.call_intrinsic "llvm.x86.sse.sfence"()
// NT-NEXT:    return
func.func @static_large(%x: memref<64x1000xf32>, %o: memref<64x1000xbf16>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<64x1000xf32>) outs(%o : memref<64x1000xbf16>)
  return
}

// -----

// Near miss: 4 x 1000 f32 = 16000 bytes < the threshold: plain stores.
// NT-LABEL:   func @static_small
// NT-NOT:     nontemporal
// NT-NOT:     sfence
// NT:         vector.store %{{.*}} : memref<4x1000xf32>, vector<16xf32>
// NT-NOT:     nontemporal
// NT-NOT:     sfence
func.func @static_small(%x: memref<4x1000xf32>, %o: memref<4x1000xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4x1000xf32>) outs(%o : memref<4x1000xf32>)
  return
}

// -----

// Dynamic sizes: the choice is made at run time, once, from the output's
// byte size.
// NT-LABEL:   func @dynamic
// NT:         %[[ROWS:.*]] = memref.dim %{{.*}}, %c0
// NT:         %[[N:.*]] = memref.dim %{{.*}}, %c1
// NT:         %[[B1:.*]] = arith.muli %c4{{.*}}, %[[ROWS]]
// NT:         %[[BYTES:.*]] = arith.muli %[[B1]], %[[N]]
// NT:         %[[BIG:.*]] = arith.cmpi uge, %[[BYTES]], %c100000
// NT:         affine.parallel
// NT:           scf.if %[[BIG]] {
// NT:             nontemporal = true
// NT:           } else {
// NT:             affine.for
// NT-NOT:           nontemporal
// NT:           }
// NT:         scf.if %[[BIG]] {
// NT-NEXT:      llvm.call_intrinsic "llvm.x86.sse.sfence"()
func.func @dynamic(%x: memref<?x?xf32>, %o: memref<?x?xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<?x?xf32>) outs(%o : memref<?x?xf32>)
  return
}


// -----

// The defaults: prefetching, and non-temporal stores from 32 MiB of output
// on (4096 x 2048 f32 is exactly 32 MiB).
// DEFAULT-LABEL: func @default_at_threshold
// DEFAULT:         memref.prefetch
// DEFAULT:         nontemporal = true
// DEFAULT:         llvm.call_intrinsic "llvm.x86.sse.sfence"
func.func @default_at_threshold(%x: memref<4096x2048xf32>, %o: memref<4096x2048xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4096x2048xf32>) outs(%o : memref<4096x2048xf32>)
  return
}

// -----

// Near miss: one element less per row is below the threshold.
// DEFAULT-LABEL: func @default_below_threshold
// DEFAULT:         memref.prefetch
// DEFAULT-NOT:     nontemporal
// DEFAULT-NOT:     sfence
func.func @default_below_threshold(%x: memref<4096x2047xf32>, %o: memref<4096x2047xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<4096x2047xf32>) outs(%o : memref<4096x2047xf32>)
  return
}

// -----

// A gradient's dx takes the same policy: 64 x 1000 f32 >= the threshold,
// so the aligned vectors of each row are streamed, and the op ends with
// an sfence.
// NT-LABEL: func @gradient_dx
// NT:         affine.parallel
// NT:           vector.store %{{.*}}, %[[DX:.*]][%{{.*}}, %{{.*}}] {alignment = 64 : i64, nontemporal = true} : memref<64x1000xf32>, vector<16xf32>
// NT:         llvm.call_intrinsic "llvm.x86.sse.sfence"
// DEFAULT-LABEL: func @gradient_dx
// DEFAULT-NOT:   nontemporal = true
// DEFAULT-NOT:   sfence
// DEFAULT:       return
func.func @gradient_dx(%x: memref<64x1000xf32>, %dy: memref<64x1000xf32>, %r: memref<64xf32>, %dx: memref<64x1000xf32>) {
  norm.rms_norm_grad ins(%x : memref<64x1000xf32>) dy(%dy : memref<64x1000xf32>) rstd(%r : memref<64xf32>)
      outs dx(%dx : memref<64x1000xf32>)
  return
}
