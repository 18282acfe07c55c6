#!/usr/bin/env bash
# The hardware measurements, in one call, for a session lent a GPU machine (a bare NVIDIA box:
# no Rust, no Vulkan loader, no network; see ../shared/docs/gpu-machine.md).
#
#   here:  bash scripts/gpu_machine.sh prepare
#          builds .dev/lariat and .dev/gpu_copy (the copy-ceiling test binary), downloads the
#          Vulkan loader (.deb) into .gl/, prints the glibc the binaries need
#   here:  bash scripts/gpu_machine.sh measure --dry-run
#          every step end to end on a software adapter (lavapipe), small sizes, < 5 minutes
#   there: run(command="bash scripts/gpu_machine.sh measure", carry=[".dev", ".gl"])
#
# `measure` never writes outside the checkout and $OUT: the loader is unpacked into
# .gl/root and found through LD_LIBRARY_PATH. It picks the NVIDIA Vulkan ICD (VK_DRIVER_FILES,
# else known paths, else a search of the file system) and logs the choice and what the loader
# made of it; it requires an NVIDIA adapter on backend Vulkan (not GL) before measuring. Each
# step runs under its own timeout, inside a total budget (GPU_MACHINE_BUDGET_S, default 540 s:
# a device call is limited to 600 s), prints its output as it comes and keeps it in
# $OUT/<step>.txt (or ./gpu-results); a failed step is reported and the next one runs. The
# steps: glibc check, loader, ICD, `lariat info`, nvidia-smi, the device-to-device copy ceiling,
# the X^T r pass at 1000 x 1000000 with the batch pass at every width k (GPU only: a CPU FISTA
# there takes minutes), one solve on both devices at 1000 x 200000, the 100-lambda path at
# 1000 x 200000 on the GPU and on the CPU (benches/path_screening.py), and the batch on the GPU
# at 1000 x 100000 (benches/gpu_batch.py: 10-fold CV and 32 responses against one path), and
# 5- and 10-fold CV against one path on the CPU's cores at 500 x 20000. The summary table comes
# last, with the pass as a fraction of the copy ceiling.
set -uo pipefail
cd "$(dirname "$0")/.."

# The newest GLIBC_x.y symbol version a binary references.
glibc_needed() {
  grep -aoE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' "$1" | sort -uV | tail -n 1 | sed 's/GLIBC_//'
}

glibc_here() {
  getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}' ||
    ldd --version 2>/dev/null | head -n 1 | awk '{print $NF}'
}

prepare() {
  set -e
  local target="${CARGO_TARGET_DIR:-target}"
  cargo build --release
  # The test binary's path, from cargo's JSON messages.
  local copy_bin
  copy_bin=$(cargo test --release --no-run --test gpu_copy --message-format=json |
    grep -o '"executable":"[^"]*gpu_copy[^"]*"' | tail -n 1 | cut -d'"' -f4)
  mkdir -p .dev .gl /tmp/amd64/partial
  # Stripped: the machine gets them through a 64 MiB carry.
  strip -o .dev/lariat "$target/release/lariat"
  strip -o .dev/gpu_copy "$copy_bin"
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  rm -rf .gl/root && rm -f .gl/*.deb
  # The loader as a .deb: with fresh package lists, else the system's, else (no network, or
  # no gpgv to verify the lists) the files of the installed libvulkan1 package.
  # shellcheck disable=SC2086
  if ! { apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1); } &&
    ! (cd .gl && apt-get download libvulkan1); then
    echo "apt-get download failed: copying the installed loader (dpkg -L libvulkan1)"
    dpkg -L libvulkan1 | grep -E '/libvulkan\.so' | while read -r f; do
      mkdir -p ".gl/root$(dirname "$f")"
      cp -P "$f" ".gl/root$f"
    done
  fi
  ls -laR .dev .gl | head -n 30
  du -sh .dev .gl
  echo "glibc needed: lariat $(glibc_needed .dev/lariat), gpu_copy $(glibc_needed .dev/gpu_copy);" \
    "this machine has $(glibc_here)"
}

measure() {
  local dry=0
  if [ "${1:-}" = "--dry-run" ]; then dry=1; fi
  local out="${OUT:-gpu-results}"
  mkdir -p "$out"
  local log="$out/measure.log"
  : >"$log"
  local budget="${GPU_MACHINE_BUDGET_S:-540}"
  local t_start=$SECONDS
  local summary=()
  local failed=0

  say() { echo "$*" | tee -a "$log"; }
  # step NAME TIMEOUT CMD...: CMD under its timeout (cut to what is left of the budget), its
  # output shown as it comes and kept in $out/NAME.txt; the status goes into the summary.
  step() {
    local name=$1 limit=$2
    shift 2
    local left=$((budget - (SECONDS - t_start)))
    if [ "$left" -le 5 ]; then
      say "== $name: SKIPPED (the ${budget} s budget is spent)"
      summary+=("$(printf '%-12s %-22s' "$name" "skipped (budget)")")
      failed=1
      return 1
    fi
    if [ "$limit" -gt "$left" ]; then limit=$left; fi
    say "== $name (timeout ${limit} s): $*"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$out/$name.txt" | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    local st
    case $rc in
      0) st=ok ;;
      124 | 137) st="TIMED OUT" ;;
      *) st="FAILED (exit $rc)" ;;
    esac
    if [ "$rc" != 0 ]; then failed=1; fi
    say "-- $name: $st in $((SECONDS - t0)) s"
    summary+=("$(printf '%-12s %-22s %4d s' "$name" "$st" "$((SECONDS - t0))")")
    return "$rc"
  }
  skip() {
    say "== $1: SKIPPED ($2)"
    summary+=("$(printf '%-12s %-22s' "$1" "skipped: $2")")
  }

  local vendor icd_pattern copy_mib wide small path_args batch_args speculate_args cpu_cv_args
  if [ $dry = 1 ]; then
    vendor=llvmpipe icd_pattern='lvp_icd*.json' copy_mib=64
    wide=(--n 200 --p 20000) small=(--n 100 --p 4000)
    path_args=(--n 100 --p 2000 --n-lambdas 20)
    batch_args=(--n 100 --p 2000 --k 4 --n-lambdas 20)
    speculate_args=(--n 100 --p 2000 --n-lambdas 20)
    cpu_cv_args=(--n 100 --p 2000 --n-lambdas 20)
  else
    vendor=NVIDIA icd_pattern='nvidia_icd*.json' copy_mib=2048
    wide=(--n 1000 --p 1000000) small=(--n 1000 --p 200000)
    path_args=(--n 1000 --p 200000)
    batch_args=(--n 1000 --p 100000 --k 32)
    speculate_args=(--n 200 --p 20000)
    cpu_cv_args=(--n 500 --p 20000)
  fi
  say "gpu_machine.sh measure$([ $dry = 1 ] && echo ' --dry-run') on $(hostname) at $(date -u +%FT%TZ)," \
    "budget ${budget} s, results in $out"

  # 1. glibc: what the binaries need against what this machine has.
  local bin=.dev/lariat
  if [ ! -x "$bin" ] || [ ! -x .dev/gpu_copy ]; then
    say "no .dev/lariat or .dev/gpu_copy: run 'bash scripts/gpu_machine.sh prepare' first (and carry .dev)"
    return 1
  fi
  local need have
  need=$(glibc_needed "$bin")
  have=$(glibc_here)
  say "glibc: the binaries need >= $need (gpu_copy: $(glibc_needed .dev/gpu_copy)), this machine has $have"
  if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
    say "glibc $have is older than $need: build on an older distribution"
    return 1
  fi

  # 2. The Vulkan loader, unpacked into the checkout (never into /), first on the library path.
  local root=.gl/root
  local debs=(.gl/*.deb)
  if [ -e "${debs[0]}" ] || [ -d "$root" ]; then
    if [ -e "${debs[0]}" ]; then rm -rf "$root"; fi
    mkdir -p "$root"
    for f in "${debs[@]}"; do
      [ -e "$f" ] || continue
      if command -v dpkg >/dev/null 2>&1; then
        dpkg -x "$f" "$root"
      else
        # No dpkg: a .deb is an ar archive holding data.tar.*.
        (cd "$root" && ar x "../../$f" && tar xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary)
      fi
    done
    local libdir
    libdir=$(dirname "$(find "$root" -name 'libvulkan.so.1*' | head -n 1)")
    export LD_LIBRARY_PATH="$PWD/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "loader: $(ls "$libdir"/libvulkan.so.1* | head -n 1) (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
  elif [ $dry = 1 ]; then
    say "loader: no .gl; the dry run uses the system's"
  else
    say "loader: no .gl/*.deb or .gl/root: run prepare and carry .gl"
    return 1
  fi

  # 3. The ICD: VK_DRIVER_FILES, else the known places, else a search; the choice is logged.
  local icd="${VK_DRIVER_FILES:-}"
  if [ -n "$icd" ] && [ ! -f "$icd" ]; then
    say "ICD: VK_DRIVER_FILES=$icd does not exist; searching"
    icd=""
  fi
  if [ -z "$icd" ]; then
    local found
    found=$(ls /usr/local/nvidia/share/vulkan/icd.d/$icd_pattern /usr/share/vulkan/icd.d/$icd_pattern \
      /etc/vulkan/icd.d/$icd_pattern /usr/local/share/vulkan/icd.d/$icd_pattern 2>/dev/null)
    if [ -z "$found" ]; then
      found=$(timeout 60 find / -xdev \( -path /proc -o -path /sys \) -prune -o \
        -name "$icd_pattern" -print 2>/dev/null)
    fi
    say "ICD candidates: $(echo $found)"
    icd=$(echo "$found" | head -n 1)
  fi
  if [ -n "$icd" ]; then
    export VK_DRIVER_FILES="$icd"
    local lib where="NOT found (neither a file nor known to ldconfig)"
    lib=$(grep -o '"library_path"[^,}]*' "$icd" | cut -d'"' -f4)
    if [ -f "$lib" ]; then
      where="found"
    elif ldconfig -p 2>/dev/null | grep -q "$(basename "$lib")"; then
      where="found by ldconfig"
    fi
    say "ICD: $icd (library_path $lib: $where)"
  else
    say "ICD: none found matching $icd_pattern; leaving the loader to its default search"
  fi
  export WGPU_BACKEND=vulkan LARIAT_ADAPTER=$vendor
  if [ -z "${XDG_RUNTIME_DIR:-}" ]; then export XDG_RUNTIME_DIR; XDG_RUNTIME_DIR=$(mktemp -d); fi

  # 4. The adapter: the loader's account of its drivers, then a Vulkan adapter of the vendor.
  step info 60 env VK_LOADER_DEBUG=driver "$bin" info
  grep -iE "loading (icd|driver)|ICD|libGLX|lvp|nvidia" "$out/info.txt" | grep -iv "^\[" | head -n 8 | sed 's/^/   loader: /' | tee -a "$log"
  local adapter
  adapter=$(awk -v v="$vendor" 'tolower($0) ~ /^\[[0-9]+\]/ { name = $0 }
    /backend Vulkan/ && tolower(name) ~ tolower(v) { print name; exit }' "$out/info.txt")
  local gpu_ok=1
  if [ -n "$adapter" ]; then
    say "adapter: $adapter on backend Vulkan"
  else
    say "REQUIRED: no $vendor adapter on backend Vulkan (GL or a software adapter does not count); GPU steps skipped"
    gpu_ok=0
    failed=1
  fi

  # 5. The machine.
  if [ $dry = 0 ]; then
    step nvidia-smi 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory,pcie.link.gen.max \
      --format=csv
  fi

  # 6. The copy ceiling, 7. the pass, 8. a solve on both devices, 9. the path on both.
  if [ $gpu_ok = 1 ]; then
    step copy 120 env LARIAT_COPY_MIB=$copy_mib LARIAT_REQUIRE_GPU=1 .dev/gpu_copy \
      --exact copy_ceiling_is_measured_and_the_copy_is_exact --nocapture
    step bench-wide 200 "$bin" bench "${wide[@]}" --device gpu --json "$out/bench-wide.json"
    step bench 200 "$bin" bench "${small[@]}" --json "$out/bench.json"
  else
    skip copy "no $vendor Vulkan adapter"
    skip bench-wide "no $vendor Vulkan adapter"
    skip bench "no $vendor Vulkan adapter"
  fi
  local devices=(cpu)
  if [ $gpu_ok = 1 ]; then devices=(gpu cpu); fi
  for device in "${devices[@]}"; do
    if python3 -c 'import numpy' 2>/dev/null; then
      step "path-$device" 150 python3 -u benches/path_screening.py --binary "$bin" --device "$device" \
        "${path_args[@]}" --only defaults
    else
      skip "path-$device" "python3 with numpy not found"
    fi
  done

  # 10. The batch on the GPU: 10-fold CV against one path, k responses against k paths.
  if [ $gpu_ok = 1 ] && python3 -c 'import numpy' 2>/dev/null; then
    step batch-gpu 200 python3 -u benches/gpu_batch.py --binary "$bin" --device gpu "${batch_args[@]}"
  else
    skip batch-gpu "no $vendor Vulkan adapter, or no numpy"
  fi

  # 11. Gap checks that carry the round's pass (LARIAT_SPECULATIVE_PASS), on a path where
  # waits, not passes, dominate: never, always, and the default's choice.
  if [ $gpu_ok = 1 ] && python3 -c 'import numpy' 2>/dev/null; then
    for mode in never always auto; do
      step "speculate-$mode" 100 env LARIAT_SPECULATIVE_PASS=$mode python3 -u benches/path_screening.py \
        --binary "$bin" --device gpu "${speculate_args[@]}" --only defaults
    done
  else
    skip speculate "no $vendor Vulkan adapter, or no numpy"
  fi

  # 12. The CPU batch on this machine's cores (issue 8's CPU goal, CV at most 2.5x the path,
  # is out of reach on 2 cores: benches/RESULTS.md), last, so that a spent budget cuts it
  # rather than a GPU step.
  if python3 -c 'import numpy' 2>/dev/null; then
    for folds in 5 10; do
      step "cv-cpu-$folds" 90 python3 -u benches/gpu_batch.py --binary "$bin" --device cpu \
        "${cpu_cv_args[@]}" --k 0 --folds "$folds" --reps 3
    done
  else
    skip cv-cpu "python3 with numpy not found"
  fi

  # Summary: every step's status, then the figures.
  say ""
  say "== summary ($((SECONDS - t_start)) s)"
  for line in "${summary[@]}"; do say "   $line"; done
  local copy_gbs pass_gbs
  copy_gbs=$(grep -o 'copy ceiling: [0-9.]* GB/s' "$out/copy.txt" 2>/dev/null | awk '{print $3}')
  pass_gbs=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));
print(next(d["pass"]["gb_per_s"] for d in r["devices"] if d["kind"] == "gpu"))' "$out/bench-wide.json" 2>/dev/null)
  [ -n "$adapter" ] && say "   adapter     $adapter"
  say "   copy ceiling ${copy_gbs:-n/a} GB/s (read + write)"
  say "   X^T r pass   ${pass_gbs:-n/a} GB/s (bytes of X read) at ${wide[*]}"
  if [ -n "$copy_gbs" ] && [ -n "$pass_gbs" ]; then
    say "   pass / copy  $(python3 -c "print(f'{$pass_gbs / $copy_gbs:.2f}')" 2>/dev/null || echo n/a)"
  fi
  grep -hE "^(speed-up|gpu |cpu )" "$out/bench.txt" 2>/dev/null | head -n 8 | sed 's/^/   /' | tee -a "$log"
  # The fixed cost of a wait and the read-back bandwidth at the wide size (what
  # LARIAT_SPECULATIVE_PASS=auto weighs; benches/RESULTS.md, "Round trips").
  grep -h "^gpu round trip" "$out/bench-wide.txt" 2>/dev/null | sed 's/^/   wide: /' | tee -a "$log"
  for device in "${devices[@]}"; do
    [ -f "$out/path-$device.txt" ] && say "   path $device: $(tail -n 1 "$out/path-$device.txt")"
  done
  [ -f "$out/batch-gpu.txt" ] && grep -E "^  " "$out/batch-gpu.txt" | sed 's/^/   batch/' | tee -a "$log"
  for mode in never always auto; do
    [ -f "$out/speculate-$mode.txt" ] && say "   speculate $mode: $(tail -n 1 "$out/speculate-$mode.txt")"
  done
  for folds in 5 10; do
    [ -f "$out/cv-cpu-$folds.txt" ] && say "   cpu cv: $(tail -n 1 "$out/cv-cpu-$folds.txt" | sed 's/^ *//')"
  done
  return $failed
}

case "${1:-}" in
  prepare) prepare ;;
  measure)
    shift
    measure "$@"
    ;;
  *)
    echo "usage: bash scripts/gpu_machine.sh prepare | measure [--dry-run]" >&2
    exit 2
    ;;
esac
