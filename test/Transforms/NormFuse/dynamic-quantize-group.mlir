// RUN: norm-opt %s --norm-fuse --split-input-file | FileCheck %s

// --norm-fuse: per-group dynamic quantisation after a norm (vLLM's
// rms_norm_per_block_quant, as a front end decomposes it: the output viewed
// as [rows, N/G, G], the abs-max of each group, its scale, the quantisation
// by the group's scale, the view folded back) becomes a quantised output
// with group_size(G) and scales [rows, N/G]; the quantised view's users read
// the op's output through the same view, the scale's users the op's scales.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#group = affine_map<(d0, d1, d2) -> (d0, d1)>
#g2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @fp8_groups_of_128
// CHECK-SAME: (%[[X:.*]]: tensor<?x512xf32>, %[[G:.*]]: tensor<512xf32>)
// CHECK: %[[Q:.*]]:2 = norm.rms_norm eps(1.0e-06) ins(%[[X]] : tensor<?x512xf32>) gamma(%[[G]] : tensor<512xf32>) outs(%{{.*}} : tensor<?x512xf8E4M3FN>) scales(%{{.*}} : tensor<?x4xf32>) group_size(128) min_scale(9.9999997473787516E-6) -> tensor<?x512xf8E4M3FN>, tensor<?x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[V:.*]] = tensor.expand_shape %[[Q]]#0 {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 4, 128] : tensor<?x512xf8E4M3FN> into tensor<?x4x128xf8E4M3FN>
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[V]] {{\[\[}}0], [1, 2]] : tensor<?x4x128xf8E4M3FN> into tensor<?x512xf8E4M3FN>
// CHECK: return %[[C]], %[[Q]]#1
func.func @fp8_groups_of_128(%x: tensor<?x512xf32>, %g: tensor<512xf32>) -> (tensor<?x512xf8E4M3FN>, tensor<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x512xf32>
  %o = tensor.empty(%n) : tensor<?x512xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<?x512xf32>) gamma(%g : tensor<512xf32>) outs(%o : tensor<?x512xf32>) -> tensor<?x512xf32>
  %y3 = tensor.expand_shape %y [[0], [1, 2]] output_shape [%n, 4, 128] : tensor<?x512xf32> into tensor<?x4x128xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty(%n) : tensor<?x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<?x4xf32>) -> tensor<?x4xf32>
  %amax = linalg.generic {indexing_maps = [#id, #group], iterator_types = ["parallel", "parallel", "reduction"]} ins(%y3 : tensor<?x4x128xf32>) outs(%init : tensor<?x4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<?x4xf32>
  %se = tensor.empty(%n) : tensor<?x4xf32>
  %scale = linalg.generic {indexing_maps = [#g2, #g2], iterator_types = ["parallel", "parallel"]} ins(%amax : tensor<?x4xf32>) outs(%se : tensor<?x4xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 448.0 : f32
    %floor = arith.constant 1.0e-05 : f32
    %d = arith.divf %a, %qmax : f32
    %f = arith.maximumf %d, %floor : f32
    linalg.yield %f : f32
  } -> tensor<?x4xf32>
  %qe = tensor.empty(%n) : tensor<?x4x128xf8E4M3FN>
  %q = linalg.generic {indexing_maps = [#id, #group, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y3, %scale : tensor<?x4x128xf32>, tensor<?x4xf32>) outs(%qe : tensor<?x4x128xf8E4M3FN>) {
  ^bb0(%a: f32, %s: f32, %o3: f8E4M3FN):
    %lo = arith.constant -448.0 : f32
    %hi = arith.constant 448.0 : f32
    %d = arith.divf %a, %s : f32
    %c1 = arith.maximumf %d, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %t = arith.truncf %c2 : f32 to f8E4M3FN
    linalg.yield %t : f8E4M3FN
  } -> tensor<?x4x128xf8E4M3FN>
  %q2 = tensor.collapse_shape %q [[0], [1, 2]] : tensor<?x4x128xf8E4M3FN> into tensor<?x512xf8E4M3FN>
  return %q2, %scale : tensor<?x512xf8E4M3FN>, tensor<?x4xf32>
}

// -----

// torch's spelling (y.view(rows, -1, G), |y| as its own op, amax(dim=-1,
// keepdim=True) from -inf, the scale an arith.divf on tensors clamped by a
// bound, i8) with a residual add before the norm, which fuses too; a
// row length known only at run time, the view's N/G with it; the values
// dequantised by their group's scale. The kept unit dim of the scales comes
// back through tensor.expand_shape.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#keep = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @i8_keepdim_residual_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?xf32>, %[[R:.*]]: tensor<?x?xf32>, %[[UB:.*]]: f32)
// CHECK: %[[Q:.*]]:2 = norm.layer_norm eps(1.0e-05) ins(%[[X]] : tensor<?x?xf32>) residual(%[[R]] : tensor<?x?xf32>) scale_ub(%[[UB]] : f32) outs(%{{.*}} : tensor<?x?xi8>) scales(%{{.*}} : tensor<?x?xf32>) group_size(3) -> tensor<?x?xi8>, tensor<?x?xf32>
// CHECK-NOT: min_scale
// CHECK: %[[S:.*]] = tensor.expand_shape %[[Q]]#1 {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, %{{.*}}, 1] : tensor<?x?xf32> into tensor<?x?x1xf32>
// CHECK: %[[V:.*]] = tensor.expand_shape %[[Q]]#0 {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, %{{.*}}, 3] : tensor<?x?xi8> into tensor<?x?x3xi8>
// CHECK: linalg.generic {{.*}} ins(%[[V]], %[[S]] :
// CHECK: arith.sitofp
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @i8_keepdim_residual_dynamic(%x: tensor<?x?xf32>, %r: tensor<?x?xf32>, %ub: f32) -> (tensor<?x?xi8>, tensor<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %groups = arith.divui %n, %c3 : index
  %he = tensor.empty(%m, %n) : tensor<?x?xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %r : tensor<?x?xf32>, tensor<?x?xf32>) outs(%he : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o0: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %o = tensor.empty(%m, %n) : tensor<?x?xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%h : tensor<?x?xf32>) outs(%o : tensor<?x?xf32>) -> tensor<?x?xf32>
  %y3 = tensor.expand_shape %y [[0], [1, 2]] output_shape [%m, %groups, 3] : tensor<?x?xf32> into tensor<?x?x3xf32>
  %ae = tensor.empty(%m, %groups) : tensor<?x?x3xf32>
  %abs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y3 : tensor<?x?x3xf32>) outs(%ae : tensor<?x?x3xf32>) {
  ^bb0(%a: f32, %o1: f32):
    %v = math.absf %a : f32
    linalg.yield %v : f32
  } -> tensor<?x?x3xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %re = tensor.empty(%m, %groups) : tensor<?x?x1xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%re : tensor<?x?x1xf32>) -> tensor<?x?x1xf32>
  %amax = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "reduction"]} ins(%abs : tensor<?x?x3xf32>) outs(%init : tensor<?x?x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %mx = arith.maximumf %a, %acc : f32
    linalg.yield %mx : f32
  } -> tensor<?x?x1xf32>
  %se = tensor.empty(%m, %groups) : tensor<?x?x1xf32>
  %scale = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%amax : tensor<?x?x1xf32>) outs(%se : tensor<?x?x1xf32>) {
  ^bb0(%a: f32, %o2: f32):
    %qmax = arith.constant 127.0 : f32
    %d = arith.divf %a, %qmax : f32
    %b = arith.minimumf %d, %ub : f32
    linalg.yield %b : f32
  } -> tensor<?x?x1xf32>
  %fe = tensor.empty(%m, %groups) : tensor<?x?x3xi8>
  %q = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y3, %scale : tensor<?x?x3xf32>, tensor<?x?x1xf32>) outs(%fe : tensor<?x?x3xi8>) {
  ^bb0(%a: f32, %s: f32, %o4: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %v = arith.divf %a, %s : f32
    %k1 = arith.maximumf %v, %lo : f32
    %k2 = arith.minimumf %k1, %hi : f32
    %rd = math.roundeven %k2 : f32
    %t = arith.fptosi %rd : f32 to i8
    linalg.yield %t : i8
  } -> tensor<?x?x3xi8>
  %de = tensor.empty(%m, %groups) : tensor<?x?x3xf32>
  %deq = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q, %scale : tensor<?x?x3xi8>, tensor<?x?x1xf32>) outs(%de : tensor<?x?x3xf32>) {
  ^bb0(%a: i8, %s: f32, %o5: f32):
    %w = arith.sitofp %a : i8 to f32
    %v = arith.mulf %w, %s : f32
    linalg.yield %v : f32
  } -> tensor<?x?x3xf32>
  %q2 = tensor.collapse_shape %q [[0], [1, 2]] : tensor<?x?x3xi8> into tensor<?x?xi8>
  %deq2 = tensor.collapse_shape %deq [[0], [1, 2]] : tensor<?x?x3xf32> into tensor<?x?xf32>
  return %q2, %deq2 : tensor<?x?xi8>, tensor<?x?xf32>
}

// -----

// The template of the near misses below, as it is: fused (groups of 32,
// the scale a divf on tensors).
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#amax = affine_map<(d0, d1, d2) -> (d0, d1)>
#scale = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @near_miss_template
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xi8>) scales(%{{.*}} : tensor<4x2xf32>) group_size(32) -> tensor<4x64xi8>, tensor<4x2xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @near_miss_template(%x: tensor<4x64xf32>) -> (tensor<4x2x32xi8>, tensor<4x2xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y3 = tensor.expand_shape %y [[0], [1, 2]] output_shape [4, 2, 32] : tensor<4x64xf32> into tensor<4x2x32xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4x2xf32>) -> tensor<4x2xf32>
  %amax = linalg.generic {indexing_maps = [#id, #amax], iterator_types = ["parallel", "parallel", "reduction"]} ins(%y3 : tensor<4x2x32xf32>) outs(%init : tensor<4x2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4x2xf32>
  %qmax = arith.constant dense<127.0> : tensor<4x2xf32>
  %scale = arith.divf %amax, %qmax : tensor<4x2xf32>
  %qe = tensor.empty() : tensor<4x2x32xi8>
  %q = linalg.generic {indexing_maps = [#id, #scale, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y3, %scale : tensor<4x2x32xf32>, tensor<4x2xf32>) outs(%qe : tensor<4x2x32xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x2x32xi8>
  return %q, %scale : tensor<4x2x32xi8>, tensor<4x2xf32>
}

// -----

// Not consecutive groups: the row viewed as [4, 32, 2] and the abs-max taken
// over the middle dim, so a "group" is every other element. Not fused.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#amax = affine_map<(d0, d1, d2) -> (d0, d2)>
#scale = affine_map<(d0, d1, d2) -> (d0, d2)>
#s2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @strided_groups
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-COUNT-2: linalg.generic
func.func @strided_groups(%x: tensor<4x64xf32>) -> (tensor<4x32x2xi8>, tensor<4x2xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y3 = tensor.expand_shape %y [[0], [1, 2]] output_shape [4, 32, 2] : tensor<4x64xf32> into tensor<4x32x2xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4x2xf32>) -> tensor<4x2xf32>
  %amax = linalg.generic {indexing_maps = [#id, #amax], iterator_types = ["parallel", "reduction", "parallel"]} ins(%y3 : tensor<4x32x2xf32>) outs(%init : tensor<4x2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4x2xf32>
  %qmax = arith.constant dense<127.0> : tensor<4x2xf32>
  %scale = arith.divf %amax, %qmax : tensor<4x2xf32>
  %qe = tensor.empty() : tensor<4x32x2xi8>
  %q = linalg.generic {indexing_maps = [#id, #scale, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y3, %scale : tensor<4x32x2xf32>, tensor<4x2xf32>) outs(%qe : tensor<4x32x2xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x32x2xi8>
  return %q, %scale : tensor<4x32x2xi8>, tensor<4x2xf32>
}

// -----

// The view splits the rows, not the normalised dim: [2, 2, 64], the abs-max
// over whole rows. Not a group view; left alone.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#amax = affine_map<(d0, d1, d2) -> (d0, d1)>
#scale = affine_map<(d0, d1, d2) -> (d0, d1)>
#s2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @rows_split_not_the_row
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-COUNT-2: linalg.generic
func.func @rows_split_not_the_row(%x: tensor<4x64xf32>) -> (tensor<2x2x64xi8>, tensor<2x2xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y3 = tensor.expand_shape %y [[0, 1], [2]] output_shape [2, 2, 64] : tensor<4x64xf32> into tensor<2x2x64xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<2x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<2x2xf32>) -> tensor<2x2xf32>
  %amax = linalg.generic {indexing_maps = [#id, #amax], iterator_types = ["parallel", "parallel", "reduction"]} ins(%y3 : tensor<2x2x64xf32>) outs(%init : tensor<2x2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<2x2xf32>
  %qmax = arith.constant dense<127.0> : tensor<2x2xf32>
  %scale = arith.divf %amax, %qmax : tensor<2x2xf32>
  %qe = tensor.empty() : tensor<2x2x64xi8>
  %q = linalg.generic {indexing_maps = [#id, #scale, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y3, %scale : tensor<2x2x64xf32>, tensor<2x2xf32>) outs(%qe : tensor<2x2x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<2x2x64xi8>
  return %q, %scale : tensor<2x2x64xi8>, tensor<2x2xf32>
}

// -----

// Every group divided by the row's first group's scale. Not fused.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#amax = affine_map<(d0, d1, d2) -> (d0, d1)>
#scale = affine_map<(d0, d1, d2) -> (d0, 0)>
#s2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @scale_of_another_group
// CHECK: norm.rms_norm eps(1.0e-06) ins(%{{.*}} : tensor<4x64xf32>) outs(%{{.*}} : tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK-COUNT-2: linalg.generic
func.func @scale_of_another_group(%x: tensor<4x64xf32>) -> (tensor<4x2x32xi8>, tensor<4x2xf32>) {
  %o = tensor.empty() : tensor<4x64xf32>
  %y = norm.rms_norm eps(1.0e-6) ins(%x : tensor<4x64xf32>) outs(%o : tensor<4x64xf32>) -> tensor<4x64xf32>
  %y3 = tensor.expand_shape %y [[0], [1, 2]] output_shape [4, 2, 32] : tensor<4x64xf32> into tensor<4x2x32xf32>
  %zero = arith.constant 0.0 : f32
  %re = tensor.empty() : tensor<4x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%re : tensor<4x2xf32>) -> tensor<4x2xf32>
  %amax = linalg.generic {indexing_maps = [#id, #amax], iterator_types = ["parallel", "parallel", "reduction"]} ins(%y3 : tensor<4x2x32xf32>) outs(%init : tensor<4x2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %abs = math.absf %a : f32
    %m = arith.maximumf %acc, %abs : f32
    linalg.yield %m : f32
  } -> tensor<4x2xf32>
  %qmax = arith.constant dense<127.0> : tensor<4x2xf32>
  %scale = arith.divf %amax, %qmax : tensor<4x2xf32>
  %qe = tensor.empty() : tensor<4x2x32xi8>
  %q = linalg.generic {indexing_maps = [#id, #scale, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%y3, %scale : tensor<4x2x32xf32>, tensor<4x2xf32>) outs(%qe : tensor<4x2x32xi8>) {
  ^bb0(%a: f32, %s: f32, %o3: i8):
    %lo = arith.constant -128.0 : f32
    %hi = arith.constant 127.0 : f32
    %d = arith.divf %a, %s : f32
    %r = math.roundeven %d : f32
    %c1 = arith.maximumf %r, %lo : f32
    %c2 = arith.minimumf %c1, %hi : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x2x32xi8>
  return %q, %scale : tensor<4x2x32xi8>, tensor<4x2xf32>
}
