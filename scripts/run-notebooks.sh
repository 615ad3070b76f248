#!/usr/bin/env bash
# Executes notebooks headless with the tslab (TypeScript) kernel: `scripts/run-notebooks.sh [--fresh] [NOTEBOOK...]`
# (default: every notebooks/*.ipynb; --fresh empties the analysis cache first, as `make notebooks` does). Needs
# `make build` (the notebooks load nitrace from dist/) and scripts/setup-reports.sh (jupyter-nbconvert,
# python3-ipykernel). Executed copies go to dist/notebooks/; the notebooks themselves stay without outputs.
# Environment for the notebooks:
#   NITRACE_FIGURES  where figures go (default docs/figures)    NITRACE_README  file whose generated blocks are
#   rewritten (default README.md; "none" = leave it)           NITRACE_NB_CACHE  analyses shared between notebooks
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fresh=0
if [ "${1:-}" = --fresh ]; then fresh=1; shift; fi
# One run at a time per checkout, for the whole run. Runs side by side (make notebooks, the notebook tests) cleared
# the analysis cache (below) while another run's notebook analysed into it, removing files under a running DuckDB
# ("Cannot open file .../analysis.duckdb.wal: No such file or directory"), and rewrote dist/types (tsc, below)
# while another run's kernel type-checked cells against it. A second run waits here.
mkdir -p dist/notebooks
exec 9>dist/notebooks/.run.lock
if ! flock -n 9; then
  echo "notebooks: waiting for another run in this checkout (dist/notebooks/.run.lock)" >&2
  flock 9
fi
kernels="$root/dist/jupyter"
# The kernelspec points at this checkout's tslab binary; installed per checkout (every run: the checkout may have
# moved), never into the system.
node_modules/.bin/tslab install --python /usr/bin/python3 --binary "$root/scripts/tslab-kernel.sh" --prefix "$kernels" >/dev/null 9>&-
# The notebooks' types: declarations of the library modules they use (tslab resolves modules the Node 10 way and
# cannot see some dependencies' types from the sources; from .d.ts files it skips what it cannot resolve).
npx tsc -p tsconfig.notebooks.json 9>&-
export JUPYTER_PATH="$kernels/share/jupyter" NITRACE_ROOT="$root"
export NITRACE_NB_CACHE=${NITRACE_NB_CACHE:-"$root/dist/notebooks/cache"}
# The cached analyses are only as current as the library that made them: a different build clears them (a stale
# cache once put an earlier version's accuracy into README).
stamp=$(find dist -name '*.js' -not -path 'dist/notebooks/*' -not -path 'dist/jupyter/*' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
if [ $fresh = 1 ] || [ "$(cat "$NITRACE_NB_CACHE/.library" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$NITRACE_NB_CACHE"
  mkdir -p "$NITRACE_NB_CACHE"
  echo "$stamp" >"$NITRACE_NB_CACHE/.library"
fi
[ $# -gt 0 ] || set -- notebooks/*.ipynb
for nb in "$@"; do
  t0=$(date +%s)
  echo "notebooks: running $nb" >&2
  # nbclient as jupyter-nbconvert --execute runs it, but a failing cell's own output is printed (tslab's errors
  # are text on the cell's stderr, nbconvert's message for them is empty): scripts/run-notebook.py
  # 9>&-: the kernel does not inherit the lock (a kernel left behind by a killed run would hold it for good)
  /usr/bin/python3 scripts/run-notebook.py "$nb" dist/notebooks 3600 9>&-
  echo "notebooks: $nb done in $(( $(date +%s) - t0 )) s" >&2
done
