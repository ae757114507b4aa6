// The last partial vector of a row of static length is stored as a short
// vector, not through a constant mask (LLVM 22's x86 back end miscompiles a
// one-lane masked store of values truncated from wider lanes into a store
// of the whole lane; see test/Integration/CPU/tail-stores.test). Loads keep
// their masks; a row of dynamic length keeps the masked store.
// RUN: norm-opt %s -split-input-file --convert-norm-to-affine="vector-width=16" | FileCheck %s

// CHECK-LABEL: func @static_tail
// CHECK-SAME:    %[[O:[^:]*]]: memref<3x65xf8E4M3FN>)
// CHECK:         vector.maskedload
// CHECK-NOT:     vector.maskedstore
// CHECK:         %[[ONE:.*]] = vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [1], strides = [1]} : vector<8xf8E4M3FN> to vector<1xf8E4M3FN>
// CHECK:         vector.store %[[ONE]], %[[O]][%{{.*}}, %c64{{.*}}] : memref<3x65xf8E4M3FN>, vector<1xf8E4M3FN>
// CHECK-NOT:     vector.maskedstore
func.func @static_tail(%x: memref<3x65xf64>, %s: f32, %o: memref<3x65xf8E4M3FN>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<3x65xf64>) out_scale(%s : f32) outs(%o : memref<3x65xf8E4M3FN>)
  return
}

// -----

// Near miss: the tail's length is only known at run time.
// CHECK-LABEL: func @dynamic_tail
// CHECK:         vector.maskedstore
func.func @dynamic_tail(%x: memref<3x?xf64>, %s: f32, %o: memref<3x?xf8E4M3FN>) {
  norm.layer_norm eps(1.0e-5) ins(%x : memref<3x?xf64>) out_scale(%s : f32) outs(%o : memref<3x?xf8E4M3FN>)
  return
}
