// RUN: norm-opt %s --norm-expand-fp8-casts --split-input-file | FileCheck %s

// f32 -> f8E4M3FN: round the 23-bit mantissa to 3 bits (add 2^19 - 1 plus
// the lowest kept bit, shift by 20), rebias the exponent (127 - 7) * 8 = 960;
// below 2^-6 (0x3C800000) let an f32 add of 2^14 round to a multiple of 2^-9;
// NaN or above 0x7E gives 0x7F; copy the sign.

// CHECK-LABEL: func @f32
// CHECK-SAME: (%[[X:.*]]: f32)
// CHECK-DAG: %[[HALF:.*]] = arith.constant 524287 : i32
// CHECK-DAG: %[[REBIAS:.*]] = arith.constant 960 : i32
// CHECK-DAG: %[[MAGIC:.*]] = arith.constant 1.638400e+04 : f32
// CHECK-DAG: %[[MINNORMAL:.*]] = arith.constant 1015021568 : i32
// CHECK-DAG: %[[INF:.*]] = arith.constant 2139095040 : i32
// CHECK-DAG: %[[MAXFINITE:.*]] = arith.constant 126 : i32
// CHECK-DAG: %[[NAN:.*]] = arith.constant 127 : i32
// CHECK: %[[BITS:.*]] = arith.bitcast %[[X]] : f32 to i32
// CHECK: %[[ABS:.*]] = arith.andi %[[BITS]]
// CHECK: %[[ROUNDED:.*]] = arith.addi %{{.*}}, %{{.*}} : i32
// CHECK: %[[NORMAL:.*]] = arith.subi %{{.*}}, %[[REBIAS]] : i32
// CHECK: %[[ABSF:.*]] = arith.bitcast %[[ABS]] : i32 to f32
// CHECK: arith.addf %[[ABSF]], %[[MAGIC]] : f32
// CHECK: %[[ISSUB:.*]] = arith.cmpi ult, %[[ABS]], %[[MINNORMAL]] : i32
// CHECK: %[[SEL:.*]] = arith.select %[[ISSUB]], %{{.*}}, %[[NORMAL]] : i32
// CHECK: %[[ISNAN:.*]] = arith.cmpi ugt, %[[ABS]], %[[INF]] : i32
// CHECK: %[[BIG:.*]] = arith.cmpi ugt, %[[SEL]], %[[MAXFINITE]] : i32
// CHECK: %[[ANYNAN:.*]] = arith.ori %[[ISNAN]], %[[BIG]] : i1
// CHECK: arith.select %[[ANYNAN]], %[[NAN]], %[[SEL]] : i32
// CHECK: %[[I8:.*]] = arith.trunci %{{.*}} : i32 to i8
// CHECK: %[[R:.*]] = arith.bitcast %[[I8]] : i8 to f8E4M3FN
// CHECK: return %[[R]] : f8E4M3FN
// CHECK-NOT: arith.truncf
func.func @f32(%x: f32) -> f8E4M3FN {
  %t = arith.truncf %x : f32 to f8E4M3FN
  return %t : f8E4M3FN
}

// -----

// Vectors of bf16 (7 mantissa bits: shift 4, rebias (127 - 7) * 8, magic
// 2^-2) get splat constants.

// CHECK-LABEL: func @bf16_vector
// CHECK-DAG: arith.constant dense<960> : vector<8xi16>
// CHECK-DAG: arith.constant dense<2.500000e-01> : vector<8xbf16>
// CHECK: arith.bitcast %{{.*}} : vector<8xbf16> to vector<8xi16>
// CHECK: arith.trunci %{{.*}} : vector<8xi16> to vector<8xi8>
// CHECK: arith.bitcast %{{.*}} : vector<8xi8> to vector<8xf8E4M3FN>
// CHECK-NOT: arith.truncf
func.func @bf16_vector(%x: vector<8xbf16>) -> vector<8xf8E4M3FN> {
  %t = arith.truncf %x : vector<8xbf16> to vector<8xf8E4M3FN>
  return %t : vector<8xf8E4M3FN>
}

// -----

// Other truncations, and other rounding modes, are left alone.

// CHECK-LABEL: func @untouched
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.truncf %{{.*}} : f32 to f8E5M2
// CHECK: arith.truncf %{{.*}} toward_zero : f32 to f8E4M3FN
func.func @untouched(%x: f32) -> (f16, f8E5M2, f8E4M3FN) {
  %a = arith.truncf %x : f32 to f16
  %b = arith.truncf %x : f32 to f8E5M2
  %c = arith.truncf %x toward_zero : f32 to f8E4M3FN
  return %a, %b, %c : f16, f8E5M2, f8E4M3FN
}

// -----

// Regression (norm-fuzz): a truncation on tensors is left alone (it is
// expanded once lowered to loops); it used to become an arith.bitcast from
// the tensor to i32, which does not verify.
// CHECK-LABEL: func @tensor_left_alone
// CHECK-NEXT: arith.truncf %{{.*}} : tensor<4xf32> to tensor<4xf8E4M3FN>
// CHECK-NOT: arith.bitcast
func.func @tensor_left_alone(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
  %y = arith.truncf %x : tensor<4xf32> to tensor<4xf8E4M3FN>
  return %y : tensor<4xf8E4M3FN>
}
