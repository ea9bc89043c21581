#!/usr/bin/env bash
# Create bench/.venv-duckdb: an isolated venv holding DuckDB (and its SQLite reader), the
# peer bench/recompute.py compares our recompute with. Never a project dependency.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-duckdb"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "duckdb==1.1.3"
"$venv/bin/python" -c "import duckdb; print('duckdb', duckdb.__version__)"
# DuckDB reads the SQLite file directly through its sqlite extension, downloaded once from
# extensions.duckdb.org. Offline, bench/recompute.py loads a CSV copy of the tables instead.
"$venv/bin/python" -c "import duckdb; c = duckdb.connect(); c.execute('INSTALL sqlite')" \
  || echo "the sqlite extension could not be downloaded: the benchmark will go through CSV"
