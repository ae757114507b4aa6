// RUN: norm-opt %s -split-input-file --norm-drop-equivalent-buffer-results | FileCheck %s

// A public function returning its own argument (through a cast) returns
// nothing; the call in the module uses the argument instead.
// CHECK-LABEL: func @writes_into_arg
// CHECK-SAME:    (%{{.*}}: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>) {
// CHECK:         return{{$}}
func.func @writes_into_arg(%x: memref<4xf32>, %out: memref<4xf32>) -> memref<?xf32> {
  memref.copy %x, %out : memref<4xf32> to memref<4xf32>
  %c = memref.cast %out : memref<4xf32> to memref<?xf32>
  return %c : memref<?xf32>
}
// CHECK-LABEL: func @caller
// CHECK-SAME:    (%[[A:.*]]: memref<4xf32>) -> memref<?xf32>
// CHECK:         %[[B:.*]] = memref.alloc
// CHECK:         call @writes_into_arg(%[[A]], %[[B]]) : (memref<4xf32>, memref<4xf32>) -> ()
// CHECK:         %[[C:.*]] = memref.cast %[[B]] : memref<4xf32> to memref<?xf32>
// CHECK:         return %[[C]]
func.func @caller(%a: memref<4xf32>) -> memref<?xf32> {
  %b = memref.alloc() : memref<4xf32>
  %r = call @writes_into_arg(%a, %b) : (memref<4xf32>, memref<4xf32>) -> memref<?xf32>
  return %r : memref<?xf32>
}

// -----

// Near miss: a fresh buffer is a real result and stays.
// CHECK-LABEL: func @fresh
// CHECK-SAME:    -> memref<4xf32>
// CHECK:         return %{{.*}} : memref<4xf32>
func.func @fresh(%x: memref<4xf32>) -> memref<4xf32> {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %x, %a : memref<4xf32> to memref<4xf32>
  return %a : memref<4xf32>
}

// -----

// Only the argument results go; the others keep their order.
// CHECK-LABEL: func @mixed
// CHECK-SAME:    -> (memref<4xf32>, f32)
// CHECK:         return %{{.*}}, %{{.*}} : memref<4xf32>, f32
func.func @mixed(%x: memref<4xf32>, %f: f32) -> (memref<4xf32>, memref<4xf32>, f32) {
  %a = memref.alloc() : memref<4xf32>
  return %x, %a, %f : memref<4xf32>, memref<4xf32>, f32
}

// -----

// Several returns: left alone.
// CHECK-LABEL: func @two_returns
// CHECK-SAME:    -> memref<4xf32>
func.func @two_returns(%x: memref<4xf32>, %y: memref<4xf32>, %c: i1) -> memref<4xf32> {
  cf.cond_br %c, ^a, ^b
^a:
  return %x : memref<4xf32>
^b:
  return %y : memref<4xf32>
}
