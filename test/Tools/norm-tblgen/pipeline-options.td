// norm-tblgen -gen-pipeline-options: a pipeline's options struct declares the
// options it takes from passes as the passes declare them (help after the
// pass's argument), then its own, and returns each pass's options struct.

// RUN: norm-tblgen -gen-pipeline-options %tblgen_includes %s | FileCheck %s
// RUN: not norm-tblgen -gen-pipeline-options -DUNKNOWN_EXCEPT %tblgen_includes %s 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not norm-tblgen -gen-pipeline-options -DSAME_ARGUMENT %tblgen_includes %s 2>&1 | FileCheck %s --check-prefix=ARGUMENT
// RUN: not norm-tblgen -gen-pipeline-options -DSAME_NAME %tblgen_includes %s 2>&1 | FileCheck %s --check-prefix=NAME

include "norm/Pipelines/PipelineBase.td"

def TestLowering : Pass<"test-lowering"> {
  let options = [
    Option<"width", "width", "unsigned", /*default=*/"4", "Lanes per vector">,
    Option<"serial", "serial", "bool", /*default=*/"false", "Serial loops">,
    ListOption<"libs", "libs", "std::string", "Libraries to link">,
  ];
}

def TestPipelineOptions : PipelineOptions {
  let passOptions = [PassOptionsOf<TestLowering, ["serial"]>];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Target chip">,
  ];
}

// CHECK-LABEL: struct TestPipelineOptions : public ::mlir::PassPipelineOptions<TestPipelineOptions> {
// CHECK-NEXT:    // From test-lowering.
// CHECK-NEXT:    ::mlir::detail::PassOptions::Option<unsigned> width{*this, "width", ::llvm::cl::desc(R"PO(test-lowering: Lanes per vector)PO"), ::llvm::cl::init(4)};
// CHECK-NEXT:    ::mlir::detail::PassOptions::ListOption<std::string> libs{*this, "libs", ::llvm::cl::desc(R"PO(test-lowering: Libraries to link)PO")};
// CHECK-NEXT:    // The pipeline's own.
// CHECK-NEXT:    ::mlir::detail::PassOptions::Option<std::string> chip{*this, "chip", ::llvm::cl::desc(R"PO(Target chip)PO"), ::llvm::cl::init("sm_90")};
// CHECK-EMPTY:
// CHECK-NEXT:    /// Returns the options of `test-lowering`: the values of those taken
// CHECK-NEXT:    /// from it, the defaults of the others.
// CHECK-NEXT:    TestLoweringOptions getTestLoweringOptions() const {
// CHECK-NEXT:      TestLoweringOptions result;
// CHECK-NEXT:      result.width = this->width;
// CHECK-NEXT:      result.libs.assign(this->libs.begin(), this->libs.end());
// CHECK-NEXT:      return result;
// CHECK-NEXT:    }
// CHECK-NEXT:  };

#ifdef UNKNOWN_EXCEPT
// UNKNOWN: error: 'test-lowering' has no option named 'parallel'
def UnknownExcept : PipelineOptions {
  let passOptions = [PassOptionsOf<TestLowering, ["parallel"]>];
}
#endif

#ifdef SAME_ARGUMENT
// ARGUMENT: error: option 'width' (the pipeline's own) is declared twice
def SameArgument : PipelineOptions {
  let passOptions = [PassOptionsOf<TestLowering>];
  let options = [Option<"laneCount", "width", "unsigned", "8", "Lanes">];
}
#endif

#ifdef SAME_NAME
// NAME: error: option name 'serial' (the pipeline's own) is used twice
def SameName : PipelineOptions {
  let passOptions = [PassOptionsOf<TestLowering>];
  let options = [Option<"serial", "sequential", "bool", "false", "Serial">];
}
#endif
