#!/usr/bin/env bash
# Creates (or reuses) the Python virtualenv used by the Keras reference and the
# SavedModel interop tests, from the pinned scripts/requirements.txt.
#
#   TFCIFAR_VENV   where the virtualenv lives (default: <cache>/tfcifar/venv-tf2.21.0)
#   PYTHON         the interpreter to build it from (default: python3)
#
# Prints the path of the virtualenv's python on the last line of stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
req="$here/requirements.txt"
cache=${XDG_CACHE_HOME:-$HOME/.cache}
venv=${TFCIFAR_VENV:-$cache/tfcifar/venv-tf2.21.0}
python=${PYTHON:-python3}
stamp="$venv/.tfcifar-requirements"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
	echo "$venv/bin/python"
	exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
	echo "setup-python: $python not found; install Python 3.11 or set PYTHON" >&2
	exit 1
fi

echo "setup-python: creating $venv from $req" >&2
# The stamp is written last, so a half-built virtualenv is never reused.
rm -rf "$venv"
"$python" -m venv "$venv"
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2; then
	rm -rf "$venv"
	echo "setup-python: pip could not install $req (is the package index reachable?)" >&2
	exit 1
fi
cp "$req" "$stamp"
echo "$venv/bin/python"
