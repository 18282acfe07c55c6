#!/usr/bin/env bash
# The test command of README.md (and of CI): installs what a fresh machine lacks (a software
# Vulkan driver, Mesa's lavapipe, so the WGSL kernels run without a GPU), then runs the suite.
#
# GPU tests skip with a printed reason when no adapter can be opened, unless
# LARIAT_REQUIRE_GPU=1 (CI sets it): then they fail.
#
# Without arguments, the GPU test binaries run a second time under the kernel configuration a
# hardware adapter gets (LARIAT_WG=256 LARIAT_TPC=32; lavapipe reports itself as a CPU and
# gets 64 / 1), so CI runs what an NVIDIA GPU runs. Then the Python package (python/) is built
# and installed into target/pyenv (scripts/python_env.sh) and its tests run, the GPU ones on
# the same adapter. With arguments, only `cargo test ARGS`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

lavapipe_icd() { ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null | head -n 1; }
if [ -z "$(lavapipe_icd)" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "== installing Mesa's software Vulkan driver (lavapipe) for the GPU tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    mesa-vulkan-drivers libvulkan1 >/dev/null
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -n "$(lavapipe_icd)" ] && [ "${LARIAT_REQUIRE_GPU:-}" = 1 ]; then
  # CI: pin lavapipe so the run is the same on every machine.
  export VK_DRIVER_FILES="$(lavapipe_icd)"
fi
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  # lavapipe complains without it (harmless, but noisy).
  export XDG_RUNTIME_DIR="$(mktemp -d)"
fi
if [ "$#" -gt 0 ]; then
  exec cargo test "$@"
fi
start=$SECONDS
cargo test
echo "== GPU tests again under the hardware kernel configuration (LARIAT_WG=256 LARIAT_TPC=32)"
LARIAT_WG=256 LARIAT_TPC=32 cargo test --test gpu_kernels --test gpu_backend --test gpu_spectral --test gpu_properties --test gpu_batch \
  --test sklearn
echo "== test.sh: $((SECONDS - start)) s"
echo "== Python package: build and install (scripts/python_env.sh), then its tests"
py_start=$SECONDS
bash scripts/python_env.sh
# The tests, and the examples of the docstrings (of the installed package).
"${LARIAT_PYENV:-target/pyenv}/bin/python" -m pytest -q --doctest-modules --pyargs lariat python/tests
echo "== test.sh, Python part: $((SECONDS - py_start)) s"
