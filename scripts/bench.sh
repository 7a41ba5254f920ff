#!/usr/bin/env bash
# make bench: builds are done by the Makefile; this installs tools the benchmarks need and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec python3 scripts/bench.py "$@"
