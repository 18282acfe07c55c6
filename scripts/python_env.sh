#!/usr/bin/env bash
# The Python side of lariat on a fresh machine: a virtual environment (git-ignored, under
# target/) with what the Python package, its tests and benches need from PyPI, and the package
# itself built from this checkout by `pip install ./python` (maturin, release profile; cargo
# keeps its build under target/, so a second run rebuilds only what changed).
#
#   bash scripts/python_env.sh            # then: target/pyenv/bin/python -m pytest python/tests
#
# LARIAT_PYENV moves the environment; PYTHON picks the interpreter (>= 3.9) that makes it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

env=${LARIAT_PYENV:-target/pyenv}
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "== installing Python 3 (Debian's python3, python3-venv)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3 python3-venv python3-pip >/dev/null
fi
if [ ! -x "$env/bin/python" ]; then
  echo "== creating the Python environment $env"
  "$python" -m venv "$env"
fi
pip() { "$env/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install maturin pytest numpy scipy pandas scikit-learn
if "$env/bin/python" -c "import lariat" 2>/dev/null; then
  echo "== rebuilding the lariat Python package (python/)"
  pip install --force-reinstall --no-deps ./python
else
  echo "== pip install ./python"
  pip install ./python
fi
"$env/bin/python" -c "import lariat; print('lariat', lariat.__version__, 'from', lariat.__file__)"
