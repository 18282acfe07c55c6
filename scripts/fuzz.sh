#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser (issue 9): the .npy header and body, CSV, LIBSVM, the
# --lambdas file and the model JSON, one cargo-fuzz (libFuzzer) target each, for a fixed budget.
# Not part of CI's default run (scripts/test.sh): it takes minutes and needs cargo-fuzz. CI runs
# what fuzzing found instead: tests/fuzz_regressions.rs and the mutation tests of
# tests/parser_props.rs, through the same harness (fuzz/drive.rs).
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     # default: 60 s, all five
#
# Works on the stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags, and
# `--sanitizer none` needs no sanitizer runtime (panics, overflow checks with -a, and
# libFuzzer's memory and time limits are what finds bugs here). A crash is minimized and copied
# to tests/fuzz_regressions/<target>/ (commit it with the fix); the script exits 1 if any target
# crashed. Corpora grow under fuzz/corpus/ (ignored by git), seeded from fuzz/seeds/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

budget=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy csv libsvm lambdas model)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# -a: debug assertions and overflow checks on, so arithmetic overflow is a finding too.
flags=(--sanitizer none -a)
# Limits: a parser may not use more than 2 GiB, allocate more than 1 GiB at once, or spend a
# few seconds on one input of at most 64 KiB (inputs are small; a blow-up on them is a bug).
libfuzzer=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=5 -max_len=65536 -print_final_stats=1)

echo "== building the fuzz targets"
cargo fuzz build "${flags[@]}"

crashed=()
summary=()
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t" "fuzz/logs" "tests/fuzz_regressions/$t"
  log="fuzz/logs/$t.log"
  echo "== fuzzing $t for ${budget}s"
  set +e
  # The regression inputs join the seeds: they are the most interesting inputs there are.
  cargo fuzz run "${flags[@]}" "$t" "$corpus" "fuzz/seeds/$t" "tests/fuzz_regressions/$t" -- \
    -max_total_time="$budget" "${libfuzzer[@]}" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
  summary+=("$(printf '%-8s %12s executions  coverage %6s  %s' "$t" "${runs:-?}" "${cov:-?}" \
    "$([ $rc = 0 ] && echo ok || echo CRASH)")")
  if [ $rc != 0 ]; then
    crashed+=("$t")
    tail -n 40 "$log"
    for artifact in $(grep -aoE "fuzz/artifacts/$t/(crash|timeout|oom|slow-unit|leak)-[0-9a-f]+" "$log" | sort -u); do
      name=$(basename "$artifact")
      kept="$artifact"
      if [[ $name == crash-* ]]; then
        # Only a crash can be minimized (libFuzzer keeps the crash while shrinking the input).
        echo "== minimizing $artifact"
        cargo fuzz tmin "${flags[@]}" "$t" "$artifact" -- -runs=5000 >"$log.tmin" 2>&1 || true
        minimized=$(grep -aoE "fuzz/artifacts/$t/minimized-from-[0-9a-f]+" "$log.tmin" | tail -n 1)
        kept="${minimized:-$artifact}"
      fi
      cp "$kept" "tests/fuzz_regressions/$t/$name"
      echo "   kept as tests/fuzz_regressions/$t/$name"
    done
  fi
done

echo "== summary (budget ${budget}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#crashed[@]} -gt 0 ]; then
  echo "crashed: ${crashed[*]} (inputs under tests/fuzz_regressions/; fix, then commit them)"
  exit 1
fi
