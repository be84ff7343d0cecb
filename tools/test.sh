#!/usr/bin/env bash
# Install what is missing, build, and run every test suite (unit, flood,
# integration, fuzz).  This is the README's second command and what CI runs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CHOT_BUILD=${CHOT_BUILD:-$here/build}
# Warnings are errors in CI.
if [ -n "${CI:-}" ]; then export CHOT_WERROR=true; fi
"$here/tools/setup.sh"
exec meson test -C "$CHOT_BUILD" --print-errorlogs --num-processes 2 "$@"
