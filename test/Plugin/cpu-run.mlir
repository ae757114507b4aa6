// The stock mlir-opt with NormPlugin.so: --norm-capture then
// --norm-cpu-pipeline (options included) on a front end's LayerNorm, run by
// mlir-runner. Every row is a shifted 0..255 with gamma 2 and beta 1:
// 2 * (0 - 127.5) / sqrt(5461.25 + 1e-5) + 1 = -2.4506 and, for the last
// column, 4.4506.

// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin --load-pass-plugin=%norm_plugin \
// RUN:   --pass-pipeline="builtin.module(norm-capture)" \
// RUN:   %norm_src_root/examples/transform/layer_norm_payload.mlir | FileCheck %s --check-prefix=IR
// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin --load-pass-plugin=%norm_plugin \
// RUN:   --pass-pipeline="builtin.module(norm-capture, norm-cpu-pipeline{unroll=2})" \
// RUN:   %norm_src_root/examples/transform/layer_norm_payload.mlir | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// IR-LABEL: func.func @layer_norm
// IR: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<16x256xf32>) gamma(%{{.*}} : tensor<256xf32>) beta(%{{.*}} : tensor<256xf32>)
// IR-NOT: linalg.generic
// IR-LABEL: func.func @main

// CHECK: sizes = [16, 2]
// CHECK-COUNT-16: [-2.4506, 4.4506]
