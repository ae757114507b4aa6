// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: per-token dynamic quantisation after a norm (vLLM's
// rms_norm_dynamic_per_token_quant, as a front end decomposes it: the
// abs-max of each row, the scale amax / qmax with a floor and a bound,
// the quantisation by the row's scale) becomes a quantised output with a
// scales destination; the scale tensor's users read the op's scales.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @i8_floor_and_bound
// CHECK-SAME: (%[[X:.*]]: tensor<?x256xf32>, %[[G:.*]]: tensor<256xf32>, %[[UB:.*]]: f32)
// CHECK: %[[Q:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<?x256xf32>) gamma(%[[G]] : tensor<256xf32>) scale_ub(%[[UB]] : f32) outs(%{{.*}} : tensor<?x256xi8>) scales(%{{.*}} : tensor<?xf32>) min_scale(9.9999997473787516E-6) -> tensor<?x256xi8>, tensor<?xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Q]]#0, %[[Q]]#1
func.func @i8_floor_and_bound(%x: tensor<?x256xf32>, %g: tensor<256xf32>, %ub: f32) -> (tensor<?x256xi8>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x256xf32>
  %o = tensor.empty(%n) : tensor<?x256xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<?x256xf32>) gamma(%g : tensor<256xf32>) outs(%o : tensor<?x256xf32>) -> tensor<?x256xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty(%n) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<?xf32>) -> tensor<?xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<?x256xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  %se = tensor.empty(%n) : tensor<?xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<?xf32>) outs(%se : tensor<?xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %floor = arith.constant 1.0e-05 : f32
    %d = arith.divf %a, %qmax : f32
    %f = arith.maximumf %d, %floor : f32
    %b = arith.minimumf %f, %ub : f32
    linalg.yield %b : f32
  } -> tensor<?xf32>
  %qe = tensor.empty(%n) : tensor<?x256xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<?x256xf32>, tensor<?xf32>) outs(%qe : tensor<?x256xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<?x256xi8>
  return %q, %scale : tensor<?x256xi8>, tensor<?xf32>
}

// -----

// torch's spelling: |y| as its own op, amax(dim=-1, keepdim=True) from
// -inf into a [rows, 1] tensor, the scale an arith.divf on tensors, the
// quantisation to f8E4M3FN (after elementwise fusion, one generic); no
// floor, no bound. The kept unit dim comes back through
// tensor.expand_shape.
#id = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func @fp8_keepdim
// CHECK: %[[Q:.*]]:2 = norm.layer_norm eps(1.0e-05) ins(%{{.*}} : tensor<8x128xf32>) outs(%{{.*}} : tensor<8x128xf8E4M3FN>) scales(%{{.*}} : tensor<8xf32>) -> tensor<8x128xf8E4M3FN>, tensor<8xf32>
// CHECK-NOT: min_scale
// CHECK: %[[S:.*]] = tensor.expand_shape %[[Q]]#1 {{\[\[}}0, 1]] output_shape [8, 1] : tensor<8xf32> into tensor<8x1xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Q]]#0, %[[S]]
func.func @fp8_keepdim(%x: tensor<8x128xf32>) -> (tensor<8x128xf8E4M3FN>, tensor<8x1xf32>) {
  %o = tensor.empty() : tensor<8x128xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<8x128xf32>) outs(%o : tensor<8x128xf32>) -> tensor<8x128xf32>
  %ae = tensor.empty() : tensor<8x128xf32>
  %abs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<8x128xf32>) outs(%ae : tensor<8x128xf32>) {
  ^bb0(%a: f32, %o1: f32):
    %v = math.absf %a : f32
    linalg.yield %v : f32
  } -> tensor<8x128xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %re = tensor.empty() : tensor<8x1xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%re : tensor<8x1xf32>) -> tensor<8x1xf32>
  %amax = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]} ins(%abs : tensor<8x128xf32>) outs(%init : tensor<8x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<8x1xf32>
  %qmax = arith.constant dense<448.0> : tensor<8x1xf32>
  %scale = arith.divf %amax, %qmax : tensor<8x1xf32>
  %fe = tensor.empty() : tensor<8x128xf8E4M3FN>
  %q = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<8x128xf32>, tensor<8x1xf32>) outs(%fe : tensor<8x128xf8E4M3FN>) {
  ^bb0(%a: f32, %s: f32, %o4: f8E4M3FN):
    %lo = arith.constant -448.0 : f32
    %hi = arith.constant 448.0 : f32
    %v = arith.divf %a, %s : f32
    %c1 = arith.maximumf %v, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %t = arith.truncf %c2 : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<8x128xf8E4M3FN>
  return %q, %scale : tensor<8x128xf8E4M3FN>, tensor<8x1xf32>
}

// -----

// The template of the near misses below, as it is: fused.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @near_miss_template
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xi8>) scales(%{{.*}} : tensor<4xf32>) -> tensor<4x64xi8>, tensor<4xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @near_miss_template(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %d = arith.divf %a, %qmax : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: the abs-max of the pre-norm input x, not of the norm's output.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @amax_of_input
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @amax_of_input(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %d = arith.divf %a, %qmax : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: a qmax of 128, not int8's 127: other scales.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @qmax_128
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @qmax_128(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 128.0 : f32
    %d = arith.divf %a, %qmax : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: every row divided by the scale of row 0.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @scale_of_first_row
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @scale_of_first_row(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %d = arith.divf %a, %qmax : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #first, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: amax * (1/127), not amax / 127: rounded differently.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @reciprocal_product
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @reciprocal_product(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %inv = arith.constant 0.00787401574 : f32
    %d = arith.mulf %a, %inv : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: a sum of magnitudes, not their maximum.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @sum_not_max
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @sum_not_max(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.addf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %d = arith.divf %a, %qmax : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: the maximum of y, not of |y|.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @max_without_abs
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @max_without_abs(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %acc, %a : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %d = arith.divf %a, %qmax : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: the floor applied after the bound: max(min(s, 0.01), 1e-3), another order.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @floor_after_bound
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @floor_after_bound(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %ub = arith.constant 0.01 : f32
    %lo = arith.constant 0.001 : f32
    %s0 = arith.divf %a, %qmax : f32
    %s1 = arith.minimumf %s0, %ub : f32
    %d = arith.maximumf %s1, %lo : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// Near miss: the amax is also returned: the chain does not die with the fusion.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#first = affine_map<(d0, d1) -> (0)>
#r1 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @amax_used_elsewhere
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-NOT: scales(
// CHECK: linalg.generic
func.func @amax_used_elsewhere(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>, tensor<4xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4xf32>) -> tensor<4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %se = tensor.empty() : tensor<4xf32>
  %scale = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]} ins(%amax : tensor<4xf32>) outs(%se : tensor<4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %d = arith.divf %a, %qmax : f32
    linalg.yield %d : f32
  } -> tensor<4xf32>
  %qe = tensor.empty() : tensor<4x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%y, %scale : tensor<4x64xf32>, tensor<4xf32>) outs(%qe : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %r = math.roundeven %v : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %q, %scale, %amax : tensor<4x64xi8>, tensor<4xf32>, tensor<4xf32>
}
