// RUN: norm-opt %s --norm-capture --norm-fuse --split-input-file | FileCheck %s
// RUN: norm-opt %s --norm-capture --norm-fuse --eliminate-empty-tensors --one-shot-bufferize=bufferize-function-boundaries --convert-norm-to-affine="parallel-threshold=0" | FileCheck %s --check-prefix=CPU
// RUN: norm-opt %s --norm-capture --norm-fuse --norm-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// The issue's "done when": a pre-norm transformer block written in plain
// linalg -- the residual add (whose sum is the next block's residual),
// RMSNorm computed in f32 from bf16, the cast back to bf16 and the bf16
// weight -- becomes one norm op after --norm-capture --norm-fuse.
// On the CPU that one op is one parallel loop over the rows, which reads x
// and r once and writes x + r and the output once; --norm-cpu-pipeline takes
// it to the LLVM dialect. (test/Integration/CPU/norm-fuse.test executes it,
// through both the reference and the CPU pipeline, against the original.)

// CPU-LABEL: func @llama_pre_norm_block
// CPU-NOT: linalg.
// CPU: affine.parallel
// CPU-NOT: affine.parallel
// CPU-NOT: linalg.
// CPU: return

// LLVM-NOT: norm.
// LLVM-NOT: linalg.
// LLVM: llvm.func @llama_pre_norm_block

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @llama_pre_norm_block
// CHECK-SAME: (%[[X:.*]]: tensor<16x256xbf16>, %[[R:.*]]: tensor<16x256xbf16>, %[[W:.*]]: tensor<256xbf16>)
// CHECK-NOT: linalg.
// CHECK: %[[Y:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<16x256xbf16>) residual(%[[R]] : tensor<16x256xbf16>) gamma(%[[W]] : tensor<256xbf16>) outs(%{{.*}} : tensor<16x256xbf16>) residual_out(%{{.*}} : tensor<16x256xbf16>)
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]#0, %[[Y]]#1
func.func @llama_pre_norm_block(%x: tensor<16x256xbf16>, %r: tensor<16x256xbf16>, %w: tensor<256xbf16>) -> (tensor<16x256xbf16>, tensor<16x256xbf16>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %fullh = tensor.empty() : tensor<16x256xbf16>
  %h = linalg.add ins(%x, %r : tensor<16x256xbf16>, tensor<16x256xbf16>) outs(%fullh : tensor<16x256xbf16>) -> tensor<16x256xbf16>
  %fullf = tensor.empty() : tensor<16x256xf32>
  %hf = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<16x256xbf16>) outs(%fullf : tensor<16x256xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<16x256xf32>
  %rows = tensor.empty() : tensor<16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%rows : tensor<16xf32>) -> tensor<16xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%hf : tensor<16x256xf32>) outs(%acc : tensor<16xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<16xf32>
  %normed = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%hf, %ss : tensor<16x256xf32>, tensor<16xf32>) outs(%fullf : tensor<16x256xf32>) {
  ^bb0(%in: f32, %s: f32, %o: f32):
    %ms = arith.divf %s, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %0 = arith.mulf %in, %rs : f32
    linalg.yield %0 : f32
  } -> tensor<16x256xf32>
  %nh = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%normed : tensor<16x256xf32>) outs(%fullh : tensor<16x256xbf16>) {
  ^bb0(%in: f32, %o: bf16):
    %0 = arith.truncf %in : f32 to bf16
    linalg.yield %0 : bf16
  } -> tensor<16x256xbf16>
  %y = linalg.generic {indexing_maps = [#col, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %nh : tensor<256xbf16>, tensor<16x256xbf16>) outs(%fullh : tensor<16x256xbf16>) {
  ^bb0(%g: bf16, %in: bf16, %o: bf16):
    %0 = arith.mulf %g, %in : bf16
    linalg.yield %0 : bf16
  } -> tensor<16x256xbf16>
  return %y, %h : tensor<16x256xbf16>, tensor<16x256xbf16>
}
