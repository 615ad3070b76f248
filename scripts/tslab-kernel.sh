#!/usr/bin/env bash
# The notebooks' Jupyter kernel: tslab (TypeScript) started in the checkout's root, so the notebooks' type imports
# (typeof import('./analyze/analyze.js')) resolve to nitrace's sources under tslab's rootDir (its working directory).
# With TypeScript's file watchers off (scripts/tslab-no-watch.cjs: they made cells fail after a notebook wrote files
# under dist/).
cd "$(dirname "$0")/.." && exec node --require ./scripts/tslab-no-watch.cjs node_modules/tslab/bin/tslab "$@"
