#!/usr/bin/env bash
# Installs what norm-mlir needs from Debian 12's packages, and nothing when
# everything is already there. Safe to run again.
set -euo pipefail

PKGS=(
  # Toolchain and MLIR 22; g++ (GCC 12) for the GCC build of
  # scripts/test-gcc.sh.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22
  libclang-rt-22-dev libomp-22-dev g++
  # norm-tblgen links LLVM's static TableGen and Support libraries, and so
  # libzstd, whose development files llvm-22-dev does not pull in.
  libzstd-dev
  cmake ninja-build
  # Python used by the tests and the reference (Debian's, seen by
  # /usr/bin/python3); torch for the tests that compare with PyTorch (the
  # decoder layer, the torch interop).
  python3 python3-numpy python3-pytest python3-torch
)
# Optional extras for the benchmarks; installed only when asked for.
if [[ "${NORM_SETUP_BENCH:-0}" == 1 ]]; then
  PKGS+=(libdnnl-dev python3-matplotlib hyperfine)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) != 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
