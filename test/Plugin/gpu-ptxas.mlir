// REQUIRES: ptxas
// The PTX the stock mlir-opt with NormPlugin.so emits assembles with the
// CUDA toolkit's ptxas, without spills.

// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin --load-pass-plugin=%norm_plugin \
// RUN:   --pass-pipeline="builtin.module(norm-gpu-pipeline{chip=sm_90})" \
// RUN:   %norm_src_root/examples/layer_norm.mlir -o %t.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.mlir --ptxas %ptxas | FileCheck %s

// CHECK: ptxas layer_norm_kernel sm_90: registers {{[0-9]+}}, stack 0, spill stores 0, spill loads 0, lmem 0
