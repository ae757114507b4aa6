//===- PipelineBase.td - Options of pass pipelines ---------*- tablegen -*-===//
//
// A pass pipeline declares its options here, as a pass does in its own
// definition, and takes the options of the passes it configures from those
// passes' definitions instead of declaring them again. `norm-tblgen
// -gen-pipeline-options` turns each `PipelineOptions` record into a
// `PassPipelineOptions` struct of the same name.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_PIPELINES_PIPELINEBASE_TD
#define NORM_PIPELINES_PIPELINEBASE_TD

include "mlir/Pass/PassBase.td"

/// The options of `pass` that a pipeline takes as its own: every option of
/// the pass but those named (by C++ name) in `except`, which the pipeline
/// sets itself. Each keeps the pass's argument, type and default; its help
/// is the pass's, after the pass's argument (`convert-norm-to-gpu: ...`).
class PassOptionsOf<PassBase passDef, list<string> exceptOptions = []> {
  PassBase pass = passDef;
  list<string> except = exceptOptions;
}

/// The options of a pass pipeline. The generated struct declares the options
/// taken from passes (`passOptions`), then the pipeline's own (`options`),
/// and has, for each of those passes, a method `get<Pass>Options()` that
/// returns the pass's options struct (`<Pass>Options`) with the values of the
/// options taken from it; the others keep their defaults.
class PipelineOptions {
  list<PassOptionsOf> passOptions = [];
  list<Option> options = [];
}

#endif // NORM_PIPELINES_PIPELINEBASE_TD
