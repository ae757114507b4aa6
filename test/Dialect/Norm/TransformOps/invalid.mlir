// RUN: norm-opt %s -split-input-file -transform-interpreter -verify-diagnostics

// A handle to anything but functions and modules is a silenceable failure,
// reported before the payload changes.

func.func @not_a_function(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-note @below {{target op}}
  %y = arith.addf %x, %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %add = transform.structured.match ops{["arith.addf"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{expects a handle to functions or modules, got 'arith.addf'}}
    %n = transform.norm.capture %add : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

func.func @norm_op_target(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %o = tensor.empty() : tensor<4x8xf32>
  // expected-note @below {{target op}}
  %y = norm.rms_norm eps(1.0e-06) ins(%x : tensor<4x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %norm = transform.structured.match ops{["norm.rms_norm"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{expects a handle to functions or modules, got 'norm.rms_norm'}}
    %fused = transform.norm.fuse %norm : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}

// -----

// Silenced, the failure leaves the payload as it was and the sequence goes
// on.
func.func @suppressed(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-remark @below {{still running}}
  %y = arith.addf %x, %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    transform.sequence %root : !transform.any_op failures(suppress) {
    ^bb0(%arg0: !transform.any_op):
      %add = transform.structured.match ops{["arith.addf"]} in %arg0 : (!transform.any_op) -> !transform.any_op
      %n = transform.norm.capture %add : (!transform.any_op) -> !transform.any_op
    }
    %add = transform.structured.match ops{["arith.addf"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.debug.emit_remark_at %add, "still running" : !transform.any_op
    transform.yield
  }
}

// -----

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    transform.apply_patterns to %root {
      // expected-error @below {{invalid options}}
      transform.apply_patterns.norm.lower_to_affine options = "no-such-option=1"
    } : !transform.any_op
    transform.yield
  }
}

// -----

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    transform.apply_patterns to %root {
      // expected-error @below {{invalid options}}
      transform.apply_patterns.norm.lower_to_gpu options = "block-size=33"
    } : !transform.any_op
    transform.yield
  }
}
