// RUN: norm-opt %s --norm-cpu-pipeline="vector-width=16" | FileCheck %s
// RUN: norm-opt %s --norm-cpu-pipeline="openmp=true" | FileCheck %s --check-prefix=OMP
// Everything is LLVM dialect: it translates to LLVM IR.
// RUN: norm-opt %s --norm-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: norm-opt %s --norm-cpu-pipeline="openmp=true nontemporal-threshold=0 prefetch=true" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// The usual kernel ABI: memrefs in, read with to_tensor, the result
// materialised into a memref argument. Nothing is allocated or copied: the
// kernel writes straight into %o.
// CHECK-NOT:   llvm.call @malloc
// CHECK-NOT:   llvm.intr.memcpy
// CHECK-LABEL: llvm.func @kernel_abi(
// CHECK:         llvm.intr.vector.reduce.fadd
// CHECK:         llvm.store %{{.*}} : vector<16xf32>, !llvm.ptr
// CHECK-LABEL: llvm.func @_mlir_ciface_kernel_abi(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// LLVMIR-LABEL: define void @_mlir_ciface_kernel_abi(ptr %0, ptr %1, ptr %2)
func.func @kernel_abi(%x: memref<?x768xf32>, %g: memref<768xf32>, %o: memref<?x768xf32>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %xt = bufferization.to_tensor %x restrict : memref<?x768xf32> to tensor<?x768xf32>
  %gt = bufferization.to_tensor %g restrict : memref<768xf32> to tensor<768xf32>
  %d = tensor.dim %xt, %c0 : tensor<?x768xf32>
  %e = tensor.empty(%d) : tensor<?x768xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%xt : tensor<?x768xf32>) gamma(%gt : tensor<768xf32>) outs(%e : tensor<?x768xf32>) -> tensor<?x768xf32>
  bufferization.materialize_in_destination %y in restrict writable %o : (tensor<?x768xf32>, memref<?x768xf32>) -> ()
  return
}

// A tensor function writing its result into a writable argument: the same,
// and the result, which is that argument, is dropped from the signature.
// CHECK-LABEL: llvm.func @tensor_abi(
// CHECK-NOT:     llvm.return %
// CHECK:         llvm.return{{$}}
// CHECK-LABEL: llvm.func @_mlir_ciface_tensor_abi(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// LLVMIR-LABEL: define void @_mlir_ciface_tensor_abi(ptr %0, ptr %1)
func.func @tensor_abi(%x: tensor<16x768xbf16>, %out: tensor<16x768xbf16> {bufferization.writable = true}) -> tensor<16x768xbf16> attributes {llvm.emit_c_interface} {
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<16x768xbf16>) outs(%out : tensor<16x768xbf16>) -> tensor<16x768xbf16>
  return %y : tensor<16x768xbf16>
}

// What surrounds a norm op in a kernel file is lowered too: here linalg,
// math and scf around it, and a quantised f8 output.
// CHECK-LABEL: llvm.func @surroundings(
// LLVMIR-LABEL: define {{.*}} @surroundings(
func.func @surroundings(%x: tensor<8x64xf32>, %s: f32, %out: tensor<8x64xf8E4M3FN> {bufferization.writable = true}) -> tensor<8x64xf8E4M3FN> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %e = tensor.empty() : tensor<8x64xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %v = math.tanh %a : f32
    linalg.yield %v : f32
  } -> tensor<8x64xf32>
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %out) -> tensor<8x64xf8E4M3FN> {
    %y = norm.rms_norm eps(1.0e-6) ins(%t : tensor<8x64xf32>) out_scale(%s : f32) outs(%acc : tensor<8x64xf8E4M3FN>) -> tensor<8x64xf8E4M3FN>
    scf.yield %y : tensor<8x64xf8E4M3FN>
  }
  return %r : tensor<8x64xf8E4M3FN>
}

// With openmp=true the row loops become OpenMP worksharing loops.
// OMP-LABEL: llvm.func @kernel_abi(
// OMP:         omp.parallel
// OMP:           omp.wsloop
// OMP:             omp.loop_nest
