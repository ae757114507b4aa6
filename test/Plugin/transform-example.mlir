// examples/transform/capture_tile_lower.mlir, the transform script of the
// README, run by the stock mlir-opt with NormPlugin.so: transform.norm.capture,
// upstream's tile_using_forall on the norm op (4 rows a tile), bufferization,
// and transform.apply_patterns.norm.lower_to_affine in each tile; then
// --norm-cpu-pipeline finishes, and mlir-runner checks the numbers (see
// cpu-run.mlir).

// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin --load-pass-plugin=%norm_plugin \
// RUN:   --pass-pipeline="builtin.module(transform-preload-library{transform-library-paths=%norm_src_root/examples/transform/capture_tile_lower.mlir}, transform-interpreter)" \
// RUN:   %norm_src_root/examples/transform/layer_norm_payload.mlir | FileCheck %s --check-prefix=IR
// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin --load-pass-plugin=%norm_plugin \
// RUN:   --pass-pipeline="builtin.module(transform-preload-library{transform-library-paths=%norm_src_root/examples/transform/capture_tile_lower.mlir}, transform-interpreter, norm-cpu-pipeline)" \
// RUN:   %norm_src_root/examples/transform/layer_norm_payload.mlir | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// Four tiles of four rows, each a loop over its rows of vector code on a
// contiguous subview; nothing of the norm or of the decomposed chain left.
// IR-LABEL: func.func @layer_norm(%{{.*}}: memref<16x256xf32>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<256xf32>)
// IR-NOT: linalg.generic
// IR: scf.parallel (%[[T:.*]]) = (%c0) to (%c4) step (%c1)
// IR: memref.subview %{{.*}}[%{{.*}}, 0] [4, 256] [1, 1] : memref<16x256xf32> to memref<4x256xf32, strided<[256, 1], offset: ?>>
// IR: affine.for %{{.*}} = 0 to 4
// IR: vector.load
// IR-NOT: norm.layer_norm
// IR-LABEL: func.func @main

// CHECK: sizes = [16, 2]
// CHECK-COUNT-16: [-2.4506, 4.4506]
