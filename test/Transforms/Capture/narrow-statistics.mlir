// RUN: norm-opt %s --norm-capture -split-input-file -verify-diagnostics | FileCheck %s
// RUN: norm-opt %s --norm-capture=widen-statistics=true -split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=WIDEN-REMARK
// RUN: norm-opt %s --norm-capture=widen-statistics=true -split-input-file 2>/dev/null | FileCheck %s --check-prefix=WIDEN
// RUN: norm-opt %s --norm-capture -split-input-file --remarks-filter=norm-capture -o /dev/null 2>&1 | FileCheck %s --check-prefix=ENGINE
// RUN: %if numpy %{ %python -m norm_mlir.testing.equiv %s --allow-uncaptured | FileCheck %s --check-prefix=EQUIV %}

// The arithmetic type of a chain's statistics is part of what it computes.
// The op computes sums, mean, variance, eps and root in f32 or wider; a
// chain doing any of them in f16 or bf16 (or rounding them to f16/bf16 on
// the way) is a different function: left alone, with a remark naming the
// narrow op. `widen-statistics` captures such chains anyway (a deliberate
// numerical change, said in a remark). Statistics in f64 rounded to f32
// (torch-mlir's var_mean) keep f32 precision and are captured.

// Default: the f32 functions are captured and run equal to the original;
// the narrow ones are left exactly as they were.
// EQUIV-NOT: FAIL
// EQUIV: {{^}}6 passed, 0 failed

// Remarks through the engine too, as missed remarks.
// ENGINE: [Missed] NormCapture | Category:norm-capture | Function=ln_all_f16
// ENGINE: [Missed] NormCapture | Category:norm-capture | Function=rms_residual_f16_sum

#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// A LayerNorm over 2x508 f16 whose sums, divisions and rsqrt are all f16.
// CHECK-LABEL: func @ln_all_f16
// CHECK-NOT: norm.layer_norm
// CHECK: math.rsqrt
// WIDEN-LABEL: func @ln_all_f16
// WIDEN: norm.layer_norm eps(1.001358e-05) ins(%{{.*}} : tensor<2x508xf16>)
// WIDEN-NOT: math.rsqrt
// WIDEN-REMARK: remark: captured a LayerNorm whose statistics are computed in f16 ('arith.addf'), widening them to f32: a deliberate numerical change (widen-statistics)
func.func @ln_all_f16(%x: tensor<2x508xf16>, %g: tensor<508xf16>, %b: tensor<508xf16>) -> tensor<2x508xf16> {
  %zero = arith.constant 0.0 : f16
  %n = arith.constant 508.0 : f16
  %eps = arith.constant 1.0e-05 : f16
  %s_init = tensor.empty() : tensor<2x1xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%s_init : tensor<2x1xf16>) -> tensor<2x1xf16>
  %sum = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x508xf16>) outs(%acc : tensor<2x1xf16>) {
  ^bb0(%in: f16, %o: f16):
    // expected-note @below {{statistics computed in f16 here}}
    %0 = arith.addf %in, %o : f16
    linalg.yield %0 : f16
  } -> tensor<2x1xf16>
  %full = tensor.empty() : tensor<2x508xf16>
  %centred = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<2x508xf16>, tensor<2x1xf16>) outs(%full : tensor<2x508xf16>) {
  ^bb0(%in: f16, %s: f16, %o: f16):
    %m = arith.divf %s, %n : f16
    %0 = arith.subf %in, %m : f16
    linalg.yield %0 : f16
  } -> tensor<2x508xf16>
  %ss = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%centred : tensor<2x508xf16>) outs(%acc : tensor<2x1xf16>) {
  ^bb0(%in: f16, %o: f16):
    %0 = arith.mulf %in, %in : f16
    %1 = arith.addf %0, %o : f16
    linalg.yield %1 : f16
  } -> tensor<2x1xf16>
  // expected-remark @below {{left a LayerNorm alone: its statistics are computed in f16 ('arith.addf'), narrower than the f32 the norm op computes them in; --norm-capture=widen-statistics=true would capture it, widening them}}
  %y = linalg.generic {indexing_maps = [#id, #keep, #col, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%centred, %ss, %g, %b : tensor<2x508xf16>, tensor<2x1xf16>, tensor<508xf16>, tensor<508xf16>) outs(%full : tensor<2x508xf16>) {
  ^bb0(%c: f16, %v: f16, %gv: f16, %bv: f16, %o: f16):
    %var = arith.divf %v, %n : f16
    %ve = arith.addf %var, %eps : f16
    %r = math.rsqrt %ve : f16
    %0 = arith.mulf %c, %r : f16
    %1 = arith.mulf %0, %gv : f16
    %2 = arith.addf %1, %bv : f16
    linalg.yield %2 : f16
  } -> tensor<2x508xf16>
  return %y : tensor<2x508xf16>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// An RMSNorm with a residual over 77x4096 f16 whose squares and their sum
// are f16 (the sum can overflow to inf where the op's f32 sum does not);
// the mean, eps and rsqrt are in f32. The first narrow op is named.
// CHECK-LABEL: func @rms_residual_f16_sum
// CHECK-NOT: norm.rms_norm
// WIDEN-LABEL: func @rms_residual_f16_sum
// WIDEN: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<77x4096xf16>) residual(%{{.*}} : tensor<77x4096xf16>) gamma
// WIDEN-REMARK: remark: captured an RMSNorm whose statistics are computed in f16 ('arith.mulf')
func.func @rms_residual_f16_sum(%x: tensor<77x4096xf16>, %r: tensor<77x4096xf16>, %w: tensor<4096xf16>) -> tensor<77x4096xf16> {
  %zero = arith.constant 0.0 : f16
  %n = arith.constant 4096.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %full = tensor.empty() : tensor<77x4096xf16>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<77x4096xf16>, tensor<77x4096xf16>) outs(%full : tensor<77x4096xf16>) {
  ^bb0(%a: f16, %b: f16, %o: f16):
    %0 = arith.addf %a, %b : f16
    linalg.yield %0 : f16
  } -> tensor<77x4096xf16>
  %s_init = tensor.empty() : tensor<77x1xf16>
  %acc = linalg.fill ins(%zero : f16) outs(%s_init : tensor<77x1xf16>) -> tensor<77x1xf16>
  %ss = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%h : tensor<77x4096xf16>) outs(%acc : tensor<77x1xf16>) {
  ^bb0(%in: f16, %o: f16):
    // expected-note @below {{statistics computed in f16 here}}
    %sq = arith.mulf %in, %in : f16
    %s = arith.addf %sq, %o : f16
    linalg.yield %s : f16
  } -> tensor<77x1xf16>
  // expected-remark @below {{left an RMSNorm alone: its statistics are computed in f16 ('arith.mulf')}}
  %y = linalg.generic {indexing_maps = [#id, #keep, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %ss, %w : tensor<77x4096xf16>, tensor<77x1xf16>, tensor<4096xf16>) outs(%full : tensor<77x4096xf16>) {
  ^bb0(%hv: f16, %sv: f16, %wv: f16, %o: f16):
    %s32 = arith.extf %sv : f16 to f32
    %ms = arith.divf %s32, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %h32 = arith.extf %hv : f16 to f32
    %0 = arith.mulf %h32, %rs : f32
    %1 = arith.truncf %0 : f32 to f16
    %2 = arith.mulf %wv, %1 : f16
    linalg.yield %2 : f16
  } -> tensor<77x4096xf16>
  return %y : tensor<77x4096xf16>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>

// The mean square in f32, rounded to bf16 before eps and rsqrt in bf16.
// CHECK-LABEL: func @rms_bf16_root
// CHECK-NOT: norm.rms_norm
// WIDEN-LABEL: func @rms_bf16_root
// WIDEN: norm.rms_norm
// WIDEN-REMARK: remark: captured an RMSNorm whose statistics are computed in bf16 ('arith.truncf')
func.func @rms_bf16_root(%x: tensor<4x256xbf16>) -> tensor<4x256xbf16> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-06 : bf16
  %s_init = tensor.empty() : tensor<4x1xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%s_init : tensor<4x1xf32>) -> tensor<4x1xf32>
  %ss = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x256xbf16>) outs(%acc : tensor<4x1xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %e = arith.extf %in : bf16 to f32
    %sq = arith.mulf %e, %e : f32
    %s = arith.addf %sq, %o : f32
    linalg.yield %s : f32
  } -> tensor<4x1xf32>
  %full = tensor.empty() : tensor<4x256xbf16>
  // expected-remark @below {{left an RMSNorm alone: its statistics are computed in bf16 ('arith.truncf')}}
  %y = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : tensor<4x256xbf16>, tensor<4x1xf32>) outs(%full : tensor<4x256xbf16>) {
  ^bb0(%xv: bf16, %sv: f32, %o: bf16):
    %ms = arith.divf %sv, %n : f32
    // expected-note @below {{statistics computed in bf16 here}}
    %msb = arith.truncf %ms : f32 to bf16
    %ve = arith.addf %msb, %eps : bf16
    %rs = math.rsqrt %ve : bf16
    %0 = arith.mulf %xv, %rs : bf16
    linalg.yield %0 : bf16
  } -> tensor<4x256xbf16>
  return %y : tensor<4x256xbf16>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>

// Near miss of the rule: f16 data, f32 statistics (extended first), output
// rounded once. Captured, no remark.
// CHECK-LABEL: func @ln_f16_data_f32_statistics
// CHECK: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<3x96xf16>)
func.func @ln_f16_data_f32_statistics(%x: tensor<3x96xf16>) -> tensor<3x96xf16> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 96.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %s_init = tensor.empty() : tensor<3x1xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%s_init : tensor<3x1xf32>) -> tensor<3x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x96xf16>) outs(%acc : tensor<3x1xf32>) {
  ^bb0(%in: f16, %o: f32):
    %e = arith.extf %in : f16 to f32
    %0 = arith.addf %e, %o : f32
    linalg.yield %0 : f32
  } -> tensor<3x1xf32>
  %c_init = tensor.empty() : tensor<3x96xf32>
  %centred = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<3x96xf16>, tensor<3x1xf32>) outs(%c_init : tensor<3x96xf32>) {
  ^bb0(%in: f16, %s: f32, %o: f32):
    %e = arith.extf %in : f16 to f32
    %m = arith.divf %s, %n : f32
    %0 = arith.subf %e, %m : f32
    linalg.yield %0 : f32
  } -> tensor<3x96xf32>
  %ss = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%centred : tensor<3x96xf32>) outs(%acc : tensor<3x1xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %0, %o : f32
    linalg.yield %1 : f32
  } -> tensor<3x1xf32>
  %full = tensor.empty() : tensor<3x96xf16>
  %y = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}
      ins(%centred, %ss : tensor<3x96xf32>, tensor<3x1xf32>) outs(%full : tensor<3x96xf16>) {
  ^bb0(%c: f32, %v: f32, %o: f16):
    %var = arith.divf %v, %n : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %0 = arith.mulf %c, %r : f32
    %1 = arith.truncf %0 : f32 to f16
    linalg.yield %1 : f16
  } -> tensor<3x96xf16>
  return %y : tensor<3x96xf16>
}

// -----
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#keep = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#stat = affine_map<(d0, d1, d2) -> (0, d1, 0)>
#bcast = affine_map<(d0, d1, d2) -> (0, d1, d2)>

// torch-mlir's var_mean: the variance from an f64 copy of the input,
// rounded to f32; the mean for the centring in f32. Wider statistics keep
// f32 precision: captured, no remark.
// CHECK-LABEL: func @ln_f64_variance_rounded_to_f32
// CHECK: norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<1x6x32xf32>)
// CHECK-NOT: math.rsqrt
func.func @ln_f64_variance_rounded_to_f32(%x: tensor<1x6x32xf32>) -> tensor<1x6x32xf32> {
  %z64 = arith.constant 0.0 : f64
  %z32 = arith.constant 0.0 : f32
  %n64 = arith.constant 32.0 : f64
  %n32 = arith.constant 32.0 : f32
  %eps = arith.constant 1.0e-05 : f64
  %w_init = tensor.empty() : tensor<1x6x32xf64>
  %wide = linalg.generic {indexing_maps = [#bcast, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x6x32xf32>) outs(%w_init : tensor<1x6x32xf64>) {
  ^bb0(%in: f32, %o: f64):
    %0 = arith.extf %in : f32 to f64
    linalg.yield %0 : f64
  } -> tensor<1x6x32xf64>
  %s64_init = tensor.empty() : tensor<1x6x1xf64>
  %acc64 = linalg.fill ins(%z64 : f64) outs(%s64_init : tensor<1x6x1xf64>) -> tensor<1x6x1xf64>
  %sum64 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%wide : tensor<1x6x32xf64>) outs(%acc64 : tensor<1x6x1xf64>) {
  ^bb0(%in: f64, %o: f64):
    %0 = arith.addf %in, %o : f64
    linalg.yield %0 : f64
  } -> tensor<1x6x1xf64>
  %c64 = linalg.generic {indexing_maps = [#bcast, #stat, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%wide, %sum64 : tensor<1x6x32xf64>, tensor<1x6x1xf64>) outs(%w_init : tensor<1x6x32xf64>) {
  ^bb0(%in: f64, %s: f64, %o: f64):
    %m = arith.divf %s, %n64 : f64
    %0 = arith.subf %in, %m : f64
    %1 = arith.mulf %0, %0 : f64
    linalg.yield %1 : f64
  } -> tensor<1x6x32xf64>
  %ss64 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%c64 : tensor<1x6x32xf64>) outs(%acc64 : tensor<1x6x1xf64>) {
  ^bb0(%in: f64, %o: f64):
    %0 = arith.addf %in, %o : f64
    linalg.yield %0 : f64
  } -> tensor<1x6x1xf64>
  %s32_init = tensor.empty() : tensor<1x6x1xf32>
  %acc32 = linalg.fill ins(%z32 : f32) outs(%s32_init : tensor<1x6x1xf32>) -> tensor<1x6x1xf32>
  %sum32 = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<1x6x32xf32>) outs(%acc32 : tensor<1x6x1xf32>) {
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  } -> tensor<1x6x1xf32>
  %full = tensor.empty() : tensor<1x6x32xf32>
  %y = linalg.generic {indexing_maps = [#bcast, #stat, #stat, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %sum32, %ss64 : tensor<1x6x32xf32>, tensor<1x6x1xf32>, tensor<1x6x1xf64>) outs(%full : tensor<1x6x32xf32>) {
  ^bb0(%in: f32, %s: f32, %v: f64, %o: f32):
    %m = arith.divf %s, %n32 : f32
    %var64 = arith.divf %v, %n64 : f64
    %var = arith.truncf %var64 : f64 to f32
    %e = arith.truncf %eps : f64 to f32
    %ve = arith.addf %var, %e : f32
    %r = math.rsqrt %ve : f32
    %c = arith.subf %in, %m : f32
    %0 = arith.mulf %c, %r : f32
    linalg.yield %0 : f32
  } -> tensor<1x6x32xf32>
  return %y : tensor<1x6x32xf32>
}

// -----
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>

// All-f16 output path but f32 statistics: the output rounds more than once
// in f16 (as the result type does anyway); statistics are f32. Captured.
// CHECK-LABEL: func @rms_f16_output_path
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<2x128xf16>)
func.func @rms_f16_output_path(%x: tensor<2x128xf16>, %w: tensor<128xf16>) -> tensor<2x128xf16> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 128.0 : f32
  %eps = arith.constant 1.0e-06 : f32
  %s_init = tensor.empty() : tensor<2x1xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%s_init : tensor<2x1xf32>) -> tensor<2x1xf32>
  %ss = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x128xf16>) outs(%acc : tensor<2x1xf32>) {
  ^bb0(%in: f16, %o: f32):
    %e = arith.extf %in : f16 to f32
    %sq = arith.mulf %e, %e : f32
    %s = arith.addf %sq, %o : f32
    linalg.yield %s : f32
  } -> tensor<2x1xf32>
  %full = tensor.empty() : tensor<2x128xf16>
  %y = linalg.generic {indexing_maps = [#id, #keep, affine_map<(d0, d1) -> (d1)>, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %w : tensor<2x128xf16>, tensor<2x1xf32>, tensor<128xf16>) outs(%full : tensor<2x128xf16>) {
  ^bb0(%xv: f16, %sv: f32, %wv: f16, %o: f16):
    %ms = arith.divf %sv, %n : f32
    %ve = arith.addf %ms, %eps : f32
    %rs = math.rsqrt %ve : f32
    %r16 = arith.truncf %rs : f32 to f16
    %0 = arith.mulf %xv, %r16 : f16
    %1 = arith.mulf %0, %wv : f16
    linalg.yield %1 : f16
  } -> tensor<2x128xf16>
  return %y : tensor<2x128xf16>
}
