# NormSanitizers.cmake - sanitizer, assertion and libFuzzer instrumentation of
# norm-mlir's own code.
#
#   -DNORM_ENABLE_SANITIZERS="address;undefined"   ASan + UBSan (clang or gcc)
#   -DNORM_ENABLE_FUZZER=ON                         coverage for libFuzzer, and
#                                                   the norm-fuzz target (clang)
#   -DNORM_ENABLE_ASSERTIONS=ON                     assert() in our code (on by
#                                                   default with either above)
#
# Only our code is instrumented: Debian's libMLIR.so / libLLVM.so are linked
# as they are. ASan and UBSan work across that boundary (the runtime is linked
# into our executables and intercepts every allocation, instrumented or not),
# but they see only what our code and the MLIR/LLVM headers it inlines do.
# We build with -fno-rtti, as libMLIR is, so UBSan's vptr check is off.
#
# Include this after HandleLLVMOptions and before adding any target.

set(NORM_ENABLE_SANITIZERS "" CACHE STRING
  "Sanitizers for norm-mlir's own code: a list of address, undefined, leak")
option(NORM_ENABLE_FUZZER
  "Build the libFuzzer target norm-fuzz and instrument our code for it (clang)"
  OFF)
if(NORM_ENABLE_SANITIZERS OR NORM_ENABLE_FUZZER)
  set(_norm_assertions_default ON)
else()
  set(_norm_assertions_default OFF)
endif()
option(NORM_ENABLE_ASSERTIONS
  "Enable assert() in norm-mlir's own code (libMLIR stays as built)"
  ${_norm_assertions_default})

set(_norm_sanitizer_flags "")
set(_norm_sanitizer_names "")
foreach(sanitizer IN LISTS NORM_ENABLE_SANITIZERS)
  string(TOLOWER "${sanitizer}" sanitizer)
  list(APPEND _norm_sanitizer_names ${sanitizer})
  if(sanitizer STREQUAL "address")
    list(APPEND _norm_sanitizer_flags -fsanitize=address)
  elseif(sanitizer STREQUAL "undefined")
    # vptr needs RTTI, which we (like libMLIR) build without; function is
    # off as in LLVM's own sanitizer builds. Every report is fatal, so a
    # test can never pass over one.
    list(APPEND _norm_sanitizer_flags -fsanitize=undefined
         -fno-sanitize=vptr,function -fno-sanitize-recover=all)
  elseif(sanitizer STREQUAL "leak")
    list(APPEND _norm_sanitizer_flags -fsanitize=leak)
  else()
    message(FATAL_ERROR "NORM_ENABLE_SANITIZERS: unknown sanitizer "
                        "'${sanitizer}' (use address, undefined, leak)")
  endif()
endforeach()

if(NORM_ENABLE_FUZZER)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "NORM_ENABLE_FUZZER needs clang (e.g. clang++-22 with "
                        "libclang-rt-22-dev)")
  endif()
  # Coverage instrumentation for every target; the fuzzer itself links the
  # libFuzzer runtime (tools/norm-fuzz).
  list(APPEND _norm_sanitizer_flags -fsanitize=fuzzer-no-link)
endif()

# With clang, every executable uses the shared ASan runtime (and finds it
# through its rpath), so that a process that is not ours (python3 loading
# libNormCAPI.so) can preload that same runtime, and the tools it starts
# (norm-opt) still run: a static runtime in them would conflict with it.
set(NORM_ASAN_RUNTIME "")
if("address" IN_LIST _norm_sanitizer_names AND
   CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  foreach(name libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so libclang_rt.asan.so)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${name}
      OUTPUT_VARIABLE _norm_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(IS_ABSOLUTE "${_norm_runtime}" AND EXISTS "${_norm_runtime}")
      set(NORM_ASAN_RUNTIME "${_norm_runtime}")
      break()
    endif()
  endforeach()
  if(NORM_ASAN_RUNTIME)
    get_filename_component(_norm_runtime_dir "${NORM_ASAN_RUNTIME}" DIRECTORY)
    add_link_options(-shared-libsan "LINKER:-rpath,${_norm_runtime_dir}")
  endif()
endif()

if(_norm_sanitizer_flags)
  list(APPEND _norm_sanitizer_flags -fno-omit-frame-pointer)
  if(NOT CMAKE_BUILD_TYPE MATCHES "^(Debug|RelWithDebInfo)$")
    # Line tables make the reports readable at little cost.
    list(APPEND _norm_sanitizer_flags -gline-tables-only)
  endif()
  add_compile_options(${_norm_sanitizer_flags})
  add_link_options(${_norm_sanitizer_flags})
  # Shared libraries leave the sanitizer runtime's symbols to the executable
  # that loads them, so they cannot be linked with -z,defs.
  string(REPLACE "-Wl,-z,defs" "" CMAKE_SHARED_LINKER_FLAGS
         "${CMAKE_SHARED_LINKER_FLAGS}")
  message(STATUS "norm-mlir instrumentation: ${_norm_sanitizer_flags}")
  if(NORM_ASAN_RUNTIME)
    message(STATUS "norm-mlir ASan runtime (shared): ${NORM_ASAN_RUNTIME}")
  endif()
endif()

if(NORM_ENABLE_ASSERTIONS AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_compile_options(-UNDEBUG)
endif()

# Lit reads this (test/lit.site.cfg.py.in) to mark sanitized builds.
string(TOLOWER "${NORM_ENABLE_SANITIZERS}" NORM_SANITIZERS)

# Links the sanitizer default options (abort on the first report, so that a
# report is never mistaken for an ordinary failure) into executable `target`.
function(norm_add_sanitizer_defaults target)
  if(NORM_ENABLE_SANITIZERS)
    target_sources(${target} PRIVATE
      ${NORM_SOURCE_DIR}/tools/common/SanitizerDefaults.cpp)
  endif()
endfunction()
