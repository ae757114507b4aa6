// The stock mlir-opt with NormPlugin.so: --norm-gpu-pipeline to PTX (format
// isa needs nothing but LLVM's NVPTX backend) on examples/layer_norm.mlir,
// the kernel read back from the gpu.binary; with the CUDA toolkit, ptxas
// assembles it (gpu-ptxas.mlir).

// RUN: %stock_mlir_opt --load-dialect-plugin=%norm_plugin --load-pass-plugin=%norm_plugin \
// RUN:   --pass-pipeline="builtin.module(norm-gpu-pipeline{chip=sm_80 format=isa})" \
// RUN:   %norm_src_root/examples/layer_norm.mlir -o %t.mlir
// RUN: FileCheck %s --check-prefix=HOST < %t.mlir
// RUN: %python -m norm_mlir.gpu.binaries %t.mlir --module layer_norm_kernel | FileCheck %s

// HOST: llvm.func @layer_norm(
// HOST: gpu.launch_func <%{{.*}} : !llvm.ptr> @layer_norm_kernel::@layer_norm_kernel blocks in
// HOST: gpu.binary @layer_norm_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
// HOST-NOT: norm.

// CHECK: .target sm_80
// CHECK: .entry layer_norm_kernel(
// CHECK: shfl.sync.bfly.b32
// CHECK: ret;
