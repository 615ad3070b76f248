#!/usr/bin/env bash
# Installs what figures and notebooks need on Debian 12: a font for chart text (resvg draws no text without one),
# Jupyter's nbconvert and the IPython kernel machinery that runs the tslab (TypeScript) kernel headless.
# Idempotent and fast when done. `--fonts-only` skips Jupyter (enough for `nitrace report`).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ "${1:-}" != --fonts-only ]; then
  command -v jupyter-nbconvert >/dev/null || need+=(jupyter-nbconvert)
  /usr/bin/python3 -c 'import nbclient' 2>/dev/null || need+=(python3-nbclient)  # scripts/run-notebook.py
  /usr/bin/python3 -c 'import ipykernel' 2>/dev/null || need+=(python3-ipykernel)
fi
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup-reports: missing ${need[*]}; install them as root (apt-get install ${need[*]})" >&2
  exit 3
fi
echo "setup-reports: installing ${need[*]}" >&2
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
