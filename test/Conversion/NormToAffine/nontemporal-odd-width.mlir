// Regression (difftest --seed 2024, case 12, cpu-odd pipeline, found by the
// ASan+UBSan build's assertions): with vector-width=3 the non-temporal
// stores claimed a 12-byte alignment, which is not a power of two. Vectors
// that are not a power of two bytes long now take plain stores.
// REQUIRES: x86-host
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=3 unroll=3 prefetch=false nontemporal-threshold=0" | FileCheck %s --check-prefix=ODD
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=4 unroll=3 prefetch=false nontemporal-threshold=0" | FileCheck %s --check-prefix=POW2

// ODD-LABEL: func @odd_width
// ODD:         vector.store %{{.*}} : memref<7x52xf32>, vector<3xf32>
// ODD-NOT:     nontemporal
// Near miss: four lanes are 16 bytes, streamed.
// POW2-LABEL: func @odd_width
// POW2:         vector.store {{.*}} {alignment = 16 : i64, nontemporal = true} : memref<7x52xf32>, vector<4xf32>
func.func @odd_width(%x: memref<7x52xf32>, %r: memref<7x52xf32>, %b: memref<52xf32>, %o: memref<7x52xf32>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<7x52xf32>) residual(%r : memref<7x52xf32>) beta(%b : memref<52xf32>) outs(%o : memref<7x52xf32>)
  return
}
