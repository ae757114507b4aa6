//===- OutlineKernels.cpp - One private function per norm signature -------===//
//
// `--norm-outline-kernels` moves every norm op into a private function
// shared by all the ops with its signature, so that the lowerings that run
// after it (and upstream's conversions to LLVM after them) see each distinct
// kernel once. A module of a thousand identical LayerNorms then lowers one
// kernel and a thousand calls, instead of a thousand copies of the kernel.
//
//===----------------------------------------------------------------------===//

#include "norm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "llvm/ADT/MapVector.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMOUTLINEKERNELS
#include "norm/Transforms/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

namespace {
/// One norm op to outline: its distinct operands (the callee's arguments)
/// and, for each of its operands, the argument that carries it.
struct Occurrence {
  Operation *op;
  SmallVector<Value> arguments;
  SmallVector<int64_t> argumentOfOperand;
};

/// The ops of one signature, in program order.
struct Group {
  SmallVector<Occurrence> occurrences;
};
} // namespace

/// Splits `op`'s operands into distinct values, so that an op that reads
/// one buffer through two operands (residual_out over the residual, say)
/// keeps seeing one value in the callee, and its lowering the same aliasing.
static Occurrence getOccurrence(Operation *op) {
  Occurrence occurrence{op, {}, {}};
  for (Value operand : op->getOperands()) {
    auto *it = llvm::find(occurrence.arguments, operand);
    occurrence.argumentOfOperand.push_back(it - occurrence.arguments.begin());
    if (it == occurrence.arguments.end())
      occurrence.arguments.push_back(operand);
  }
  return occurrence;
}

/// The signature of `op` as one uniqued attribute: op name, the callee's
/// function type (operand and result types: element types, static and
/// dynamic dims, layouts, memory spaces), which operands repeat, the op's
/// properties (eps, axis, the segment sizes that say which fused clauses
/// are present, ...) and its other attributes. Equal attributes mean
/// interchangeable ops.
static Attribute getSignature(const Occurrence &occurrence) {
  Operation *op = occurrence.op;
  MLIRContext *context = op->getContext();
  SmallVector<Type> argumentTypes = llvm::to_vector(llvm::map_range(
      occurrence.arguments, [](Value v) { return v.getType(); }));
  auto type = FunctionType::get(context, argumentTypes, op->getResultTypes());
  Attribute properties = op->getPropertiesAsAttribute();
  if (!properties)
    properties = UnitAttr::get(context);
  Attribute parts[] = {
      StringAttr::get(context, op->getName().getStringRef()),
      TypeAttr::get(type),
      DenseI64ArrayAttr::get(context, occurrence.argumentOfOperand),
      properties,
      op->getDiscardableAttrDictionary(),
  };
  return ArrayAttr::get(context, parts);
}

/// Builds the private function computing `occurrence.op` on its arguments,
/// at the end of `module`, named after the op.
static func::FuncOp buildKernel(ModuleOp module, SymbolTable &symbols,
                                const Occurrence &occurrence) {
  Operation *op = occurrence.op;
  Location loc = op->getLoc();
  SmallVector<Type> argumentTypes = llvm::to_vector(llvm::map_range(
      occurrence.arguments, [](Value v) { return v.getType(); }));
  auto type =
      FunctionType::get(op->getContext(), argumentTypes, op->getResultTypes());
  std::string name = ("__norm_kernel_" + op->getName().stripDialect()).str();
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  auto kernel = func::FuncOp::create(builder, loc, name, type);
  kernel.setPrivate();
  // func-to-llvm reads linkage from this attribute only.
  kernel->setAttr(
      "llvm.linkage",
      LLVM::LinkageAttr::get(op->getContext(), LLVM::Linkage::Internal));
  // Renames the function if the name is taken (a suffix per kernel).
  symbols.insert(kernel);

  Block *entry = kernel.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  IRMapping mapping;
  for (auto [operand, argument] :
       llvm::zip_equal(op->getOperands(), occurrence.argumentOfOperand))
    mapping.map(operand, entry->getArgument(argument));
  Operation *body = builder.clone(*op, mapping);
  func::ReturnOp::create(builder, loc, body->getResults());
  return kernel;
}

namespace {
struct NormOutlineKernelsPass
    : public norm::impl::NormOutlineKernelsBase<NormOutlineKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Groups in the order of their first op, so that kernels (and the
    // names they get) follow the program.
    llvm::MapVector<Attribute, Group> groups;
    for (auto func : module.getOps<func::FuncOp>()) {
      func.walk([&](NormOpInterface normOp) {
        Operation *op = normOp.getOperation();
        // A norm op is a leaf; one with regions would not be one of ours.
        if (op->getNumRegions() != 0)
          return;
        Occurrence occurrence = getOccurrence(op);
        groups[getSignature(occurrence)].occurrences.push_back(
            std::move(occurrence));
      });
    }
    if (groups.empty())
      return;

    SymbolTable symbols(module);
    for (auto &[signature, group] : groups) {
      if (group.occurrences.size() < std::max(1u, unsigned(minOccurrences)))
        continue;
      func::FuncOp kernel =
          buildKernel(module, symbols, group.occurrences.front());
      for (Occurrence &occurrence : group.occurrences) {
        Operation *op = occurrence.op;
        OpBuilder builder(op);
        auto call = func::CallOp::create(builder, op->getLoc(), kernel,
                                         occurrence.arguments);
        call->setAttr(kKernelCallAttrName, builder.getUnitAttr());
        op->replaceAllUsesWith(call.getResults());
        op->erase();
      }
    }
  }
};
} // namespace
