//===- SanitizerDefaults.cpp - Default options of the sanitizer runtimes --===//
//
// Linked into norm-mlir's executables in sanitized builds. Every report
// aborts: a test that expects `norm-opt` to fail (`not norm-opt ...`) must not
// pass because ASan or UBSan exited with status 1, and `not` treats a signal
// as a failure. ASAN_OPTIONS / UBSAN_OPTIONS in the environment still
// override these.
//
//===----------------------------------------------------------------------===//

extern "C" {

/// Read by the ASan runtime before `main`.
__attribute__((used, visibility("default"))) const char *
__asan_default_options() {
  return "abort_on_error=1:print_summary=1:detect_stack_use_after_return=1";
}

/// Read by the UBSan runtime (standalone or inside ASan's).
__attribute__((used, visibility("default"))) const char *
__ubsan_default_options() {
  return "abort_on_error=1:print_stacktrace=1:print_summary=1";
}

} // extern "C"
