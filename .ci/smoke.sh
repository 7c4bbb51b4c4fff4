#!/usr/bin/env bash
# The package as users install it: build the wheel, install it into a fresh virtual environment with the
# constraints and no extras, then run tests/smoke/smoke.py there without network (every article type
# indexed, `rag ask --json`, `rag serve` answering over HTTP).
#   bash .ci/smoke.sh [WORKDIR]    # WORKDIR is kept when given; otherwise a temporary folder, removed after
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
    work=$(mkdir -p "$1" && cd "$1" && pwd)
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
rm -rf "$work/src" "$work/dist" "$work/venv" "$work/smoke"
start=$SECONDS

# Built from a copy of what the wheel is made of, so that nothing is written into the source tree.
mkdir "$work/src"
tar -c --exclude=__pycache__ --exclude='*.pyc' pyproject.toml README.md rag | tar -x -C "$work/src"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" wheel --no-deps --progress-bar off -w "$work/dist" "$work/src"
"$work/venv/bin/pip" install --progress-bar off -c constraints.txt "$work"/dist/rag-*.whl
echo "smoke: wheel built and installed in $((SECONDS - start)) s"

smoke=("$work/venv/bin/python" -I tests/smoke/smoke.py "$work/smoke")
# A network namespace holding only the loopback proves the product needs no network; it takes root.
if unshare --net true 2>/dev/null; then
    echo "smoke: running without network"
    unshare --net sh -c 'ip link set lo up && exec "$@"' sh "${smoke[@]}"
else
    echo "smoke: running with the model hubs told to stay offline (no network namespace here)"
    "${smoke[@]}"
fi
