#!/usr/bin/env bash
# The test command of README.md (and of CI): installs what a fresh machine lacks, then runs
# the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo test "$@"
