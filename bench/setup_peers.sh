#!/usr/bin/env bash
# Create bench/.venv-peers with the peer engines (Bytewax, Quix Streams, PyFlink) and the Polars
# loop's libraries. Kept apart from the project venv so the peers never leak into the engine's
# dependencies. Idempotent: a second run only re-checks the pins.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-peers"
PY="${PY:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$PY" -m venv "$venv"
fi
# pip prints "... is ignored" warnings for some wheels' metadata: harmless, so filter them out.
"$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
"$venv/bin/python" -m pip install --quiet \
    bytewax==0.21.1 quixstreams==3.28.1 apache-flink==2.3.0 polars duckdb pyarrow orjson \
    2>&1 | grep -v "is ignored" || true
# A dependency of Quix prints a deprecation warning on import: show the output only on failure.
if ! err="$("$venv/bin/python" -c "import bytewax, quixstreams, pyflink, polars, duckdb, pyarrow, orjson" 2>&1)"; then
    echo "$err" >&2
    echo "peer install failed" >&2
    exit 1
fi
if ! command -v java >/dev/null 2>&1; then
    echo "warning: no java on PATH; PyFlink needs Java 11 or 17" >&2
fi
echo "peers venv ready: $venv"
