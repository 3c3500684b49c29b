#!/usr/bin/env bash
# Creates (or reuses) the Python virtualenv used by the Keras reference and the
# SavedModel interop tests, from the pinned scripts/requirements.txt.
#
# TensorFlow itself is installed from the sha256-checked tensorflow-cpu wheel that
# scripts/install-libtensorflow.sh keeps in <cache>/tfcifar/wheels (fetching it
# there if needed), so the C library and the virtualenv share one download. That
# wheel is for Python 3.11 on Linux x86_64; another interpreter gets its own
# wheel from the package index.
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

# One build at a time: tests of several packages may ask at once, and a second
# build would remove the virtualenv under the first.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

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
# The cached wheel, when this interpreter can install it.
wheel=()
if [ "$("$venv/bin/python" -c 'import sys, platform; print(sys.implementation.name, sys.version_info[:2] == (3, 11), platform.system(), platform.machine())')" = "cpython True Linux x86_64" ]; then
	whl=$("$here/install-libtensorflow.sh" --wheel) || {
		rm -rf "$venv"
		echo "setup-python: could not get the tensorflow-cpu wheel" >&2
		exit 1
	}
	wheel=("$whl")
fi
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" "${wheel[@]}" >&2; then
	rm -rf "$venv"
	echo "setup-python: pip could not install $req (is the package index reachable?)" >&2
	exit 1
fi
cp "$req" "$stamp"
echo "$venv/bin/python"
