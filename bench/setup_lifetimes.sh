#!/usr/bin/env bash
# Create bench/.venv-lifetimes: an isolated venv holding the `lifetimes` peer library
# used only by bench/clv.py for comparison. Never a project dependency.
#
# lifetimes 0.11.3 (2020) predates numpy 2 and pandas 2.x behaviour changes, so the
# scientific stack is pinned to versions it imports and runs with on Python 3.11.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-lifetimes"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check \
  "lifetimes==0.11.3" "numpy==1.26.4" "scipy==1.11.4" "pandas==1.5.3" \
  "autograd==1.6.2" "dill==0.3.8" "psutil"
"$venv/bin/python" -c "import lifetimes, numpy, scipy, pandas; print('lifetimes', lifetimes.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'pandas', pandas.__version__)"
