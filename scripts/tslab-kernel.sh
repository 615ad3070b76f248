#!/usr/bin/env bash
# The notebooks' Jupyter kernel: tslab (TypeScript) started in the checkout's root, so the notebooks' type imports
# (typeof import('./analyze/analyze.js')) resolve to nitrace's sources under tslab's rootDir (its working directory).
cd "$(dirname "$0")/.." && exec node_modules/.bin/tslab "$@"
