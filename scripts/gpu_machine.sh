#!/usr/bin/env bash
# The hardware measurements, in one call, for a session lent a GPU machine (see
# ../shared/docs/gpu-machine.md for the machine itself).
#
#   here:  bash scripts/gpu_machine.sh prepare
#          (builds target/release/lariat into .dev/ and downloads the Vulkan loader into .gl/)
#   there: run(command="bash scripts/gpu_machine.sh measure", carry=[".dev", ".gl"])
#
# `measure` installs the loader, checks that the adapter is a real GPU, and writes every log
# under $OUT (or ./gpu-results), with the short table last on stdout: the pass bandwidth at
# 1000 x 1000000 (GPU only: a CPU FISTA there takes minutes), one solve on both at
# 1000 x 200000 (lariat bench), and the 100-lambda path at 1000 x 200000 on the GPU and on the
# machine's CPU (benches/path_screening.py), the issue #4 figure.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
  cargo build --release
  mkdir -p .dev .gl /tmp/amd64/partial
  cp target/release/lariat .dev/
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1)
  ls -la .dev .gl
  ;;
measure)
  out="${OUT:-gpu-results}"
  mkdir -p "$out"
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  if [ -z "${VK_DRIVER_FILES:-}" ]; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
               /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
    done
  fi
  bin=.dev/lariat
  $bin info > "$out/info.txt" 2>&1 || true
  if ! grep -qi nvidia "$out/info.txt"; then
    cat "$out/info.txt"
    echo "no NVIDIA adapter (VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}): nothing measured" >&2
    exit 1
  fi
  nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
  $bin bench --n 1000 --p 1000000 --device gpu --json "$out/bench-wide.json" \
    > "$out/bench-wide.txt" 2>&1
  $bin bench --n 1000 --p 200000 --json "$out/bench.json" > "$out/bench.txt" 2>&1
  for device in gpu cpu; do
    python3 benches/path_screening.py --binary "$bin" --device "$device" --n 1000 --p 200000 \
      --only defaults > "$out/path-$device.txt" 2>&1
  done
  echo "== lariat bench --n 1000 --p 1000000 --device gpu"
  grep -E "^(device|gpu)|NVIDIA" "$out/bench-wide.txt" | head -6
  echo "== lariat bench --n 1000 --p 200000"
  grep -E "^(device|cpu|gpu|speed-up)|NVIDIA" "$out/bench.txt" | head -12
  echo "== 100-lambda path, 1000 x 200000 (gpu, then cpu)"
  tail -n 1 "$out/path-gpu.txt"
  tail -n 1 "$out/path-cpu.txt"
  ;;
*)
  echo "usage: bash scripts/gpu_machine.sh prepare|measure" >&2
  exit 2
  ;;
esac
