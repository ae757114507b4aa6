//===- NormInterfaces.td - Interface shared by norm ops ----*- tablegen -*-===//
//
// `NormOpInterface` lets verifiers, lowerings and transformations treat
// `norm.layer_norm` and `norm.rms_norm` uniformly.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_DIALECT_NORM_IR_NORMINTERFACES_TD
#define NORM_DIALECT_NORM_IR_NORMINTERFACES_TD

include "mlir/IR/OpBase.td"

def NormOpInterface : OpInterface<"NormOpInterface"> {
  let cppNamespace = "::mlir::norm";
  let description = [{
    Common view of a normalisation op: one input normalised over its trailing
    dimensions `[axis, rank)`, optional residual, scale (gamma) and shift
    (beta), an epsilon given as an attribute or a scalar operand, an
    optional scale for a quantised output, and
    destination operands for the output and the optional extra results
    (residual sum, mean, reciprocal standard deviation). Absent optional
    values are returned as null `Value`s.
  }];

  let methods = [
    InterfaceMethod<"Whether this op subtracts the mean (LayerNorm).",
      "bool", "isLayerNorm", (ins)>,
    InterfaceMethod<"The tensor or buffer to normalise.",
      "::mlir::Value", "getInput", (ins)>,
    InterfaceMethod<"Optional residual added to the input before normalising.",
      "::mlir::Value", "getResidual", (ins)>,
    InterfaceMethod<"Optional scale, shaped like the normalised dims.",
      "::mlir::Value", "getGamma", (ins)>,
    InterfaceMethod<"Optional shift, shaped like the normalised dims.",
      "::mlir::Value", "getBeta", (ins)>,
    InterfaceMethod<"Optional run-time scalar epsilon.",
      "::mlir::Value", "getEpsValue", (ins)>,
    InterfaceMethod<"Optional scalar scale of a quantised (i8, f8E4M3FN) output.",
      "::mlir::Value", "getOutScale", (ins)>,
    InterfaceMethod<"Destination of the normalised output.",
      "::mlir::Value", "getOutput", (ins)>,
    InterfaceMethod<"Optional destination of the residual sum `input + residual`.",
      "::mlir::Value", "getResidualOutput", (ins)>,
    InterfaceMethod<"Optional destination of the per-row mean.",
      "::mlir::Value", "getMean", (ins)>,
    InterfaceMethod<"Optional destination of the per-row 1/sqrt(var + eps).",
      "::mlir::Value", "getRstd", (ins)>,
    InterfaceMethod<"Optional destination of the dynamic quantisation scales "
                    "(per row, or per group of a row).",
      "::mlir::Value", "getScales", (ins)>,
    InterfaceMethod<"Optional run-time upper bound of the dynamic scales.",
      "::mlir::Value", "getScaleUb", (ins)>,
    InterfaceMethod<"The attribute epsilon, if eps is not an operand.",
      "::std::optional<::llvm::APFloat>", "getEpsilon", (ins)>,
    InterfaceMethod<"The `axis` attribute as written, if any.",
      "::std::optional<uint64_t>", "getAxis", (ins)>,
    InterfaceMethod<"The dynamic quantisation's group size G, if per group.",
      "::std::optional<uint64_t>", "getGroupSize", (ins)>,
    InterfaceMethod<"The dynamic scales' floor, if any (otherwise 0).",
      "::std::optional<::llvm::APFloat>", "getMinScale", (ins)>,
  ];

  let extraSharedClassDeclaration = [{
    /// The first normalised dimension (the `axis` attribute, or rank - 1).
    int64_t getNormalizedAxis() {
      auto rank = ::llvm::cast<::mlir::ShapedType>(
          $_op.getInput().getType()).getRank();
      if (auto axis = $_op.getAxis())
        return static_cast<int64_t>(*axis);
      return rank - 1;
    }
    /// The input's shaped type.
    ::mlir::ShapedType getInputType() {
      return ::llvm::cast<::mlir::ShapedType>($_op.getInput().getType());
    }
    /// The output's shaped type.
    ::mlir::ShapedType getOutputType() {
      return ::llvm::cast<::mlir::ShapedType>($_op.getOutput().getType());
    }
    /// Whether the output is quantised (i8 or f8E4M3FN) by a static
    /// out_scale or by dynamic scales.
    bool hasQuantizedOutput() {
      return $_op.getOutScale() || $_op.getScales();
    }
    /// Whether the output is quantised by scales computed from each row or
    /// group (a `scales` destination).
    bool hasDynamicQuantization() {
      return static_cast<bool>($_op.getScales());
    }
    /// Whether the op works on tensors (otherwise on memrefs).
    bool hasPureTensorSemantics() {
      return ::llvm::isa<::mlir::RankedTensorType>($_op.getInput().getType());
    }
  }];
}

def NormGradOpInterface : OpInterface<"NormGradOpInterface"> {
  let cppNamespace = "::mlir::norm";
  let description = [{
    Common view of a normalisation gradient op: the input `x` of the forward
    op (after any residual sum) and the gradient `dy` of its output, an
    optional gamma, the per-row statistics either as operands (saved by the
    forward op) or recomputed from `x` with an epsilon, an optional residual
    gradient added into dx, and optional destinations for dx, dgamma and
    dbeta. Absent optional values are returned as null `Value`s.
  }];

  let methods = [
    InterfaceMethod<"Whether this is the gradient of a LayerNorm.",
      "bool", "isLayerNorm", (ins)>,
    InterfaceMethod<"The forward op's (normalised) input x.",
      "::mlir::Value", "getInput", (ins)>,
    InterfaceMethod<"The gradient dy of the forward op's output.",
      "::mlir::Value", "getOutputGrad", (ins)>,
    InterfaceMethod<"Optional scale, shaped like the normalised dims.",
      "::mlir::Value", "getGamma", (ins)>,
    InterfaceMethod<"Optional saved per-row mean (LayerNorm).",
      "::mlir::Value", "getMean", (ins)>,
    InterfaceMethod<"Optional saved per-row 1/sqrt(var + eps).",
      "::mlir::Value", "getRstd", (ins)>,
    InterfaceMethod<"Optional gradient added into dx (a residual branch).",
      "::mlir::Value", "getResidualGrad", (ins)>,
    InterfaceMethod<"Optional run-time scalar epsilon (recomputed statistics).",
      "::mlir::Value", "getEpsValue", (ins)>,
    InterfaceMethod<"Optional destination of dx.",
      "::mlir::Value", "getInputGradInit", (ins)>,
    InterfaceMethod<"Optional destination of dgamma.",
      "::mlir::Value", "getGammaGradInit", (ins)>,
    InterfaceMethod<"Optional destination of dbeta (LayerNorm).",
      "::mlir::Value", "getBetaGradInit", (ins)>,
    InterfaceMethod<"The attribute epsilon, if any.",
      "::std::optional<::llvm::APFloat>", "getEpsilon", (ins)>,
    InterfaceMethod<"The `axis` attribute as written, if any.",
      "::std::optional<uint64_t>", "getAxis", (ins)>,
  ];

  let extraSharedClassDeclaration = [{
    /// The first normalised dimension (the `axis` attribute, or rank - 1).
    int64_t getNormalizedAxis() {
      auto rank = ::llvm::cast<::mlir::ShapedType>(
          $_op.getInput().getType()).getRank();
      if (auto axis = $_op.getAxis())
        return static_cast<int64_t>(*axis);
      return rank - 1;
    }
    /// The input's shaped type.
    ::mlir::ShapedType getInputType() {
      return ::llvm::cast<::mlir::ShapedType>($_op.getInput().getType());
    }
    /// Whether the statistics are recomputed from x (not operands).
    bool recomputesStatistics() { return !$_op.getRstd(); }
    /// Whether the op works on tensors (otherwise on memrefs).
    bool hasPureTensorSemantics() {
      return ::llvm::isa<::mlir::RankedTensorType>($_op.getInput().getType());
    }
  }];
}

#endif // NORM_DIALECT_NORM_IR_NORMINTERFACES_TD
