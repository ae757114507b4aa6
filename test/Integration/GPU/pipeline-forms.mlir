// Every form of the norm ops goes through --norm-gpu-pipeline to PTX: tensor
// functions, memref functions, the kernel ABI (to_tensor /
// materialize_in_destination); both ops with every optional operand and
// destination; static, dynamic, rank 1 and rank 4 shapes; f16, bf16, f32
// and f64; eps as an attribute or an operand. Nothing of the norm dialect,
// and no kernel without a binary, is left.

// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_90 format=isa" | FileCheck %s
// RUN: norm-opt %s --norm-gpu-pipeline="chip=sm_80 format=isa" | FileCheck %s --check-prefix=SM80

// CHECK-NOT: norm.
// CHECK-NOT: gpu.module
// A tensor function's result is allocated in GPU memory.
// CHECK-LABEL: llvm.func @tensor_layer_norm
// CHECK: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// CHECK: llvm.call @mgpuMemAlloc(%{{.*}}, %[[STREAM]], %{{.*}})
// CHECK-NOT: @malloc
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @tensor_layer_norm_kernel::@tensor_layer_norm_kernel
// CHECK: gpu.binary @tensor_layer_norm_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}assembly = "{{.*}}.entry tensor_layer_norm_kernel(
// CHECK-LABEL: llvm.func @tensor_dynamic_f16
// CHECK: gpu.binary @tensor_dynamic_f16_kernel {{.*}}assembly =
// CHECK-LABEL: llvm.func @tensor_rank4_bf16_eps_operand
// CHECK: gpu.binary @tensor_rank4_bf16_eps_operand_kernel {{.*}}assembly =
// CHECK-LABEL: llvm.func @tensor_f64_axis1
// CHECK: gpu.binary @tensor_f64_axis1_kernel {{.*}}assembly =
// CHECK-LABEL: llvm.func @tensor_every_extra
// CHECK: gpu.binary @tensor_every_extra_kernel {{.*}}assembly =
// CHECK-LABEL: llvm.func @tensor_rank1
// CHECK: gpu.binary @tensor_rank1_kernel {{.*}}assembly =
// CHECK-LABEL: llvm.func @memref_rms_residual
// CHECK: gpu.binary @memref_rms_residual_kernel {{.*}}assembly =
// CHECK-LABEL: llvm.func @kernel_abi_rms
// CHECK: gpu.binary @kernel_abi_rms_kernel {{.*}}assembly =
// CHECK-LABEL: llvm.func @kernel_abi_f64_eps
// CHECK: gpu.binary @kernel_abi_f64_eps_kernel {{.*}}assembly =
// CHECK-NOT: norm.

// SM80-COUNT-9: chip = "sm_80"{{.*}}.target sm_80

func.func @tensor_layer_norm(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %init = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<4x8xf32>) gamma(%g : tensor<8xf32>) beta(%b : tensor<8xf32>) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

func.func @tensor_dynamic_f16(%x: tensor<?x?xf16>, %init: tensor<?x?xf16>) -> tensor<?x?xf16> {
  %y = norm.layer_norm eps(1.0e-6) ins(%x : tensor<?x?xf16>) outs(%init : tensor<?x?xf16>) -> tensor<?x?xf16>
  return %y : tensor<?x?xf16>
}

func.func @tensor_rank4_bf16_eps_operand(%x: tensor<2x3x4096xbf16>, %g: tensor<4096xbf16>, %e: f16) -> tensor<2x3x4096xbf16> {
  %init = tensor.empty() : tensor<2x3x4096xbf16>
  %y = norm.rms_norm eps(%e : f16) ins(%x : tensor<2x3x4096xbf16>) gamma(%g : tensor<4096xbf16>) outs(%init : tensor<2x3x4096xbf16>) -> tensor<2x3x4096xbf16>
  return %y : tensor<2x3x4096xbf16>
}

func.func @tensor_f64_axis1(%x: tensor<2x3x5xf64>, %g: tensor<3x5xf64>, %init: tensor<2x3x5xf64>) -> tensor<2x3x5xf64> {
  %y = norm.layer_norm axis(1) eps(1.0e-5) ins(%x : tensor<2x3x5xf64>) gamma(%g : tensor<3x5xf64>) outs(%init : tensor<2x3x5xf64>) -> tensor<2x3x5xf64>
  return %y : tensor<2x3x5xf64>
}

func.func @tensor_every_extra(%x: tensor<8x64xbf16>, %r: tensor<8x64xbf16>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<8x64xf16>, tensor<8x64xbf16>, tensor<8xf32>, tensor<8xf32>) {
  %o = tensor.empty() : tensor<8x64xf16>
  %s = tensor.empty() : tensor<8x64xbf16>
  %m = tensor.empty() : tensor<8xf32>
  %v = tensor.empty() : tensor<8xf32>
  %y:4 = norm.layer_norm eps(1.0e-5) ins(%x : tensor<8x64xbf16>) residual(%r : tensor<8x64xbf16>) gamma(%g : tensor<64xf32>) beta(%b : tensor<64xf32>)
      outs(%o : tensor<8x64xf16>) residual_out(%s : tensor<8x64xbf16>) mean(%m : tensor<8xf32>) rstd(%v : tensor<8xf32>)
      -> tensor<8x64xf16>, tensor<8x64xbf16>, tensor<8xf32>, tensor<8xf32>
  return %y#0, %y#1, %y#2, %y#3 : tensor<8x64xf16>, tensor<8x64xbf16>, tensor<8xf32>, tensor<8xf32>
}

func.func @tensor_rank1(%x: tensor<7xf32>) -> (tensor<7xf32>, tensor<f32>, tensor<f32>) {
  %o = tensor.empty() : tensor<7xf32>
  %m = tensor.empty() : tensor<f32>
  %v = tensor.empty() : tensor<f32>
  %y:3 = norm.layer_norm eps(1.0e-5) ins(%x : tensor<7xf32>) outs(%o : tensor<7xf32>) mean(%m : tensor<f32>) rstd(%v : tensor<f32>) -> tensor<7xf32>, tensor<f32>, tensor<f32>
  return %y#0, %y#1, %y#2 : tensor<7xf32>, tensor<f32>, tensor<f32>
}

func.func @memref_rms_residual(%x: memref<?x128xf16>, %r: memref<?x128xf16>, %o: memref<?x128xf16>, %s: memref<?x128xf16>, %v: memref<?xf32>) {
  norm.rms_norm eps(1.0e-6) ins(%x : memref<?x128xf16>) residual(%r : memref<?x128xf16>) outs(%o : memref<?x128xf16>) residual_out(%s : memref<?x128xf16>) rstd(%v : memref<?xf32>)
  return
}

func.func @kernel_abi_rms(%x: memref<?x768xbf16>, %g: memref<768xbf16>, %o: memref<?x768xbf16>) {
  %xt = bufferization.to_tensor %x restrict : memref<?x768xbf16> to tensor<?x768xbf16>
  %gt = bufferization.to_tensor %g restrict : memref<768xbf16> to tensor<768xbf16>
  %c0 = arith.constant 0 : index
  %d = tensor.dim %xt, %c0 : tensor<?x768xbf16>
  %e = tensor.empty(%d) : tensor<?x768xbf16>
  %y = norm.rms_norm eps(1.0e-6) ins(%xt : tensor<?x768xbf16>) gamma(%gt : tensor<768xbf16>) outs(%e : tensor<?x768xbf16>) -> tensor<?x768xbf16>
  bufferization.materialize_in_destination %y in restrict writable %o : (tensor<?x768xbf16>, memref<?x768xbf16>) -> ()
  return
}

func.func @kernel_abi_f64_eps(%x: memref<3x50xf64>, %e: f32, %o: memref<3x50xf64>, %v: memref<3xf64>) {
  %xt = bufferization.to_tensor %x restrict : memref<3x50xf64> to tensor<3x50xf64>
  %eo = tensor.empty() : tensor<3x50xf64>
  %ev = tensor.empty() : tensor<3xf64>
  %y:2 = norm.rms_norm eps(%e : f32) ins(%xt : tensor<3x50xf64>) outs(%eo : tensor<3x50xf64>) rstd(%ev : tensor<3xf64>) -> tensor<3x50xf64>, tensor<3xf64>
  bufferization.materialize_in_destination %y#0 in restrict writable %o : (tensor<3x50xf64>, memref<3x50xf64>) -> ()
  bufferization.materialize_in_destination %y#1 in restrict writable %v : (tensor<3xf64>, memref<3xf64>) -> ()
  return
}
