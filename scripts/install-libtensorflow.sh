#!/usr/bin/env bash
# Installs libtensorflow 2.21.0 (CPU), the TensorFlow C library tfcifar is built on.
#
# The C library comes from the official tensorflow-cpu 2.21.0 wheel, which ships
# libtensorflow_cc.so.2 (the whole C API), libtensorflow_framework.so.2 and the C
# headers. The wheel is fetched with pip (no dependencies), its sha256 is checked,
# and it is kept in <cache>/tfcifar/wheels (cache: $XDG_CACHE_HOME or ~/.cache),
# where scripts/setup-python.sh installs TensorFlow from it: the ~250 MB wheel is
# downloaded once for both. A cached wheel is checked again before each use.
#
# Where it goes:
#   - TFCIFAR_LIBTENSORFLOW=DIR   use or install the prefix DIR (DIR/lib, DIR/include);
#   - otherwise, as root          /usr/local (found by the compiler and, after ldconfig,
#                                 by the dynamic linker, as TensorFlow's install guide does);
#   - otherwise                   ~/.local/share/tfcifar/libtensorflow-2.21.0, and the
#                                 CGO_CFLAGS / CGO_LDFLAGS / LD_LIBRARY_PATH to use are printed.
#
# An install that is already there and reports version 2.21.0 is used as it is,
# quietly. Usage:
#   scripts/install-libtensorflow.sh          install if needed
#   scripts/install-libtensorflow.sh --env    install if needed, then print the
#                                             `export ...` lines a build needs (none
#                                             for a system install)
#   scripts/install-libtensorflow.sh --check  only check; exit 1 if missing or wrong
#   scripts/install-libtensorflow.sh --wheel  only fetch the wheel into the cache if
#                                             needed and print its path
set -euo pipefail

readonly version=2.21.0
readonly wheel=tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl
readonly wheel_sha256=2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c

mode=install
case "${1:-}" in
	"") ;;
	--env) mode=env ;;
	--check) mode=check ;;
	--wheel) mode=wheel ;;
	*) echo "usage: $0 [--env|--check|--wheel]" >&2; exit 2 ;;
esac

say() { echo "install-libtensorflow: $*" >&2; }
fail() { say "$*"; exit 1; }

# stamp PREFIX prints what identifies the library files under PREFIX (size and
# modification time); a check that linked and ran them records it, so later runs
# need not link against the large library again.
stamp() {
	stat -L -c '%n %s %Y' "$1/lib/libtensorflow_cc.so.2" "$1/lib/libtensorflow_framework.so.2" "$1/include/tensorflow/c/c_api.h" 2>/dev/null
}

# installed_version PREFIX prints the version the library under PREFIX reports,
# or nothing when it is missing or cannot be linked.
installed_version() {
	local prefix=$1 tmp stampfile=$1/lib/.tfcifar-libtensorflow-$version
	[ -f "$prefix/lib/libtensorflow_cc.so.2" ] && [ -f "$prefix/include/tensorflow/c/c_api.h" ] || return 0
	if [ -f "$stampfile" ] && [ "$(cat "$stampfile")" = "$(stamp "$prefix")" ]; then
		echo "$version"
		return 0
	fi
	tmp=$(mktemp -d)
	printf '#include <stdio.h>\n#include "tensorflow/c/c_api.h"\nint main(void) { printf("%%s", TF_Version()); return 0; }\n' >"$tmp/v.c"
	if cc -o "$tmp/v" "$tmp/v.c" -I"$prefix/include" -L"$prefix/lib" -ltensorflow -Wl,-rpath,"$prefix/lib" 2>/dev/null; then
		"$tmp/v" 2>/dev/null >"$tmp/version" || true
	fi
	if [ "$(cat "$tmp/version" 2>/dev/null)" = "$version" ] && [ -w "$prefix/lib" ]; then
		stamp "$prefix" >"$stampfile"
	fi
	cat "$tmp/version" 2>/dev/null || true
	rm -rf "$tmp"
}

# cached_wheel prints the path of the verified wheel in the cache, fetching it
# first when it is missing or does not match the pinned sha256.
wheel_dir=${XDG_CACHE_HOME:-$HOME/.cache}/tfcifar/wheels
cached_wheel() {
	local path=$wheel_dir/$wheel tmp
	if [ -f "$path" ] && echo "$wheel_sha256  $path" | sha256sum --check --status; then
		echo "$path"
		return 0
	fi
	command -v python3 >/dev/null || fail "python3 with pip is needed to fetch the tensorflow-cpu wheel"
	mkdir -p "$wheel_dir" || fail "cannot create $wheel_dir"
	tmp=$(mktemp -d "$wheel_dir/.fetch-XXXXXX")
	say "fetching tensorflow-cpu==$version (wheel only, no dependencies) into $wheel_dir"
	if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps \
		--only-binary=:all: --platform manylinux_2_27_x86_64 --python-version 311 \
		--implementation cp --abi cp311 -d "$tmp" "tensorflow-cpu==$version" >&2; then
		rm -rf "$tmp"
		fail "could not fetch the tensorflow-cpu==$version wheel with pip; check that the Python package index is reachable (pip config, proxy), or install libtensorflow $version yourself and set TFCIFAR_LIBTENSORFLOW to its prefix"
	fi
	if [ ! -f "$tmp/$wheel" ]; then
		say "pip did not produce $wheel (got: $(ls "$tmp"))"
		rm -rf "$tmp"
		exit 1
	fi
	if ! echo "$wheel_sha256  $tmp/$wheel" | sha256sum --check --status; then
		rm -rf "$tmp"
		fail "sha256 of $wheel does not match the pinned $wheel_sha256; refusing to use it"
	fi
	mv -f "$tmp/$wheel" "$path"
	rm -rf "$tmp"
	echo "$path"
}

if [ "$mode" = wheel ]; then
	cached_wheel
	exit 0
fi

system_prefix=/usr/local
if [ -n "${TFCIFAR_LIBTENSORFLOW:-}" ]; then
	prefix=$TFCIFAR_LIBTENSORFLOW
elif [ "$(id -u)" = 0 ]; then
	prefix=$system_prefix
else
	prefix=${XDG_DATA_HOME:-$HOME/.local/share}/tfcifar/libtensorflow-$version
fi

print_env() {
	[ "$mode" = env ] || return 0
	if [ "$prefix" != "$system_prefix" ]; then
		echo "export CGO_CFLAGS=\"-I$prefix/include\""
		echo "export CGO_LDFLAGS=\"-L$prefix/lib -Wl,-rpath,$prefix/lib\""
		echo "export LD_LIBRARY_PATH=\"$prefix/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
	fi
}

found=$(installed_version "$prefix")
if [ "$found" = "$version" ]; then
	print_env
	exit 0
fi
if [ "$mode" = check ]; then
	if [ -n "$found" ]; then
		fail "libtensorflow under $prefix reports version $found, tfcifar needs $version; run scripts/install-libtensorflow.sh"
	fi
	fail "libtensorflow $version not found under $prefix; run scripts/install-libtensorflow.sh"
fi
if [ -n "$found" ]; then
	say "replacing libtensorflow $found under $prefix with $version"
fi

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] ||
	fail "the tensorflow-cpu wheel ships libtensorflow for Linux x86_64 only; this is $(uname -s)/$(uname -m)"
command -v python3 >/dev/null || fail "python3 is needed to extract the tensorflow-cpu wheel"
command -v cc >/dev/null || fail "a C compiler (cc) is needed to check the installed library"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
whl=$(cached_wheel)

say "extracting the C library and headers"
python3 - "$whl" "$work/stage" <<'PY'
import os, sys, zipfile

wheel, stage = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
# The C API headers and the few headers they include from outside tensorflow/c.
header_dirs = ("tensorflow/include/tensorflow/c/", "tensorflow/include/xla/tsl/c/")
header_files = {
    "tensorflow/include/tensorflow/core/platform/ctstring.h",
    "tensorflow/include/tensorflow/core/platform/ctstring_internal.h",
    "tensorflow/include/tsl/platform/ctstring.h",
    "tensorflow/include/tsl/platform/ctstring_internal.h",
}
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if name.endswith("/"):
            continue
        if name in libs:
            dest = os.path.join(stage, "lib", os.path.basename(name))
        elif name in header_files or (name.startswith(header_dirs) and name.endswith(".h")):
            dest = os.path.join(stage, "include", name[len("tensorflow/include/"):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.chmod(dest, 0o755 if "/lib/" in dest else 0o644)
PY

# The Go bindings link with -ltensorflow. In the wheel the C API is split over two
# libraries, so libtensorflow.so is a linker script naming both.
printf '/* libtensorflow %s (tensorflow-cpu wheel): the C API is in libtensorflow_cc, TF_Status and friends in libtensorflow_framework. */\nINPUT(libtensorflow_cc.so.2 libtensorflow_framework.so.2)\n' \
	"$version" >"$work/stage/lib/libtensorflow.so"
ln -s libtensorflow_cc.so.2 "$work/stage/lib/libtensorflow.so.2"
ln -s libtensorflow_framework.so.2 "$work/stage/lib/libtensorflow_framework.so"

# Move into place: each file is written next to its target and renamed over it,
# so a failure never leaves a half-written library behind.
mkdir -p "$prefix/lib" "$prefix/include" 2>/dev/null ||
	fail "cannot create $prefix (run as root for a system install, or set TFCIFAR_LIBTENSORFLOW to a writable prefix)"
(cd "$work/stage" && find . -type d) | while read -r d; do mkdir -p "$prefix/$d"; done
(cd "$work/stage" && find . ! -type d) | while read -r f; do
	cp -P "$work/stage/$f" "$prefix/$f.tfcifar-new"
	mv -f "$prefix/$f.tfcifar-new" "$prefix/$f"
done
if [ "$prefix" = "$system_prefix" ] && command -v ldconfig >/dev/null; then
	# ldconfig notes that the linker script is not an ELF file; that is expected.
	ldconfig 2>&1 | grep -v 'libtensorflow.so is not an ELF file' >&2 || true
fi

found=$(installed_version "$prefix")
[ "$found" = "$version" ] || fail "installed under $prefix, but the library reports version '${found:-none}'"
say "installed libtensorflow $version under $prefix in $(($(date +%s) - start))s"
if [ "$prefix" != "$system_prefix" ] && [ "$mode" != env ]; then
	say "to build against it, set:"
	mode=env print_env >&2
fi
print_env
