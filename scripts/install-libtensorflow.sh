#!/usr/bin/env bash
# Installs libtensorflow 2.21.0, the TensorFlow C library tfcifar is built on:
# the CPU build by default, the CUDA build with --gpu.
#
# The CPU C library comes from the official tensorflow-cpu 2.21.0 wheel, which ships
# libtensorflow_cc.so.2 (the whole C API), libtensorflow_framework.so.2 and the C
# headers. The wheel is fetched with pip (no dependencies), its sha256 is checked,
# and it is kept in <cache>/tfcifar/wheels (cache: $XDG_CACHE_HOME or ~/.cache),
# where scripts/setup-python.sh installs TensorFlow from it: the ~250 MB wheel is
# downloaded once for both. A cached wheel is checked again before each use.
#
# The CUDA build (--gpu) comes from the tensorflow 2.21.0 wheel (same C API, built
# with CUDA 12) and the NVIDIA CUDA 12 runtime wheels its and-cuda extra names
# (cuBLAS, cuDNN, cuFFT, ...), each pinned below with its sha256 and kept in the
# same cache (about 3.4 GB of wheels, 5.3 GB installed). It goes to a prefix of
# its own, next to the CPU install, which it never replaces: the NVIDIA libraries
# under PREFIX/nvidia/<name>/lib, where libtensorflow's own run path looks for
# them, and tfcifar loads them from there (internal/libtf). Only the NVIDIA
# driver (libcuda.so.1) comes from the system.
#
# Where it goes:
#   - TFCIFAR_LIBTENSORFLOW=DIR   use or install the prefix DIR (DIR/lib, DIR/include);
#                                 TFCIFAR_LIBTENSORFLOW_GPU=DIR for the CUDA build;
#   - otherwise, as root          /usr/local (found by the compiler and, after ldconfig,
#                                 by the dynamic linker, as TensorFlow's install guide does);
#                                 the CUDA build: /usr/local/lib/tfcifar/libtensorflow-2.21.0-gpu;
#   - otherwise                   ~/.local/share/tfcifar/libtensorflow-2.21.0 (-gpu for the
#                                 CUDA build), and the CGO_CFLAGS / CGO_LDFLAGS /
#                                 LD_LIBRARY_PATH to use are printed.
# A build against the CUDA build always needs the printed CGO_LDFLAGS: they set the
# binary's run path to the GPU prefix, so it needs no LD_LIBRARY_PATH.
#
# An install that is already there and reports version 2.21.0 is used as it is,
# quietly. Usage:
#   scripts/install-libtensorflow.sh [--gpu]          install if needed
#   scripts/install-libtensorflow.sh [--gpu] --env    install if needed, then print the
#                                                     `export ...` lines a build needs (none
#                                                     for a system CPU install)
#   scripts/install-libtensorflow.sh [--gpu] --check  only check; exit 1 if missing or wrong
#   scripts/install-libtensorflow.sh [--gpu] --wheel  only fetch the wheels into the cache if
#                                                     needed and print their paths
#   scripts/install-libtensorflow.sh --gpu --prefix   print the CUDA build's prefix
set -euo pipefail

readonly version=2.21.0

mode=install
gpu=0
for arg in "$@"; do
	case "$arg" in
		--gpu) gpu=1 ;;
		--env) mode=env ;;
		--check) mode=check ;;
		--wheel) mode=wheel ;;
		--prefix) mode=prefix ;;
		*) echo "usage: $0 [--gpu] [--env|--check|--wheel|--prefix]" >&2; exit 2 ;;
	esac
done

# The wheels of each build, "file sha256" per line; the first one holds libtensorflow.
if [ "$gpu" = 1 ]; then
	build="CUDA build"
	prefix_var=TFCIFAR_LIBTENSORFLOW_GPU gpu_flag=" --gpu" gpu_flag_extract=" and the NVIDIA libraries"
	package=tensorflow
	wheels="\
tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl 9056fbc9ba04235810b71ae6cbd958a196e8804fb53bbcffbf3e23b56155f124
nvidia_cublas_cu12-12.9.3.13-py3-none-manylinux_2_27_x86_64.whl d7d51055f161b317c7105ddaae90e71eda059026074ffef93cf7cde2886bfe72
nvidia_cuda_cupti_cu12-12.8.90-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl ea0cb07ebda26bb9b29ba82cda34849e73c166c18162d3913575b0c9db9a6182
nvidia_cuda_nvcc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl 5d6a0d32fdc7ea39917c20065614ae93add6f577d840233237ff08e9a38f58f0
nvidia_cuda_nvrtc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl 210cf05005a447e29214e9ce50851e83fc5f4358df8b453155d5e1918094dcb4
nvidia_cuda_runtime_cu12-12.9.79-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 25bba2dfb01d48a9b59ca474a1ac43c6ebf7011f1b0b8cc44f54eb6ac48a96c3
nvidia_cudnn_cu12-9.28.0.42-py3-none-manylinux_2_27_x86_64.whl 9ff58b7f36dacd0a93e89f8f2957b52466889217963701daa15e577317cfa375
nvidia_cufft_cu12-11.4.1.4-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl c67884f2a7d276b4b80eb56a79322a95df592ae5e765cf1243693365ccab4e28
nvidia_curand_cu12-10.3.10.19-py3-none-manylinux_2_27_x86_64.whl 49b274db4780d421bd2ccd362e1415c13887c53c214f0d4b761752b8f9f6aa1e
nvidia_cusolver_cu12-11.7.5.82-py3-none-manylinux_2_27_x86_64.whl 15da72d1340d29b5b3cf3fd100e3cd53421dde36002eda6ed93811af63c40d88
nvidia_cusparse_cu12-12.5.10.65-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 73060ce019ac064a057267c585bf1fd5a353734151f87472ff02b2c5c9984e78
nvidia_nccl_cu12-2.32.3-py3-none-manylinux_2_27_x86_64.whl bb94b2348e4861d5e8aa00b36c3d12d9bdf9c6369b82cbb723de0b582280a21c
nvidia_nvjitlink_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl e3f1171dbdc83c5932a45f0f4c99180a70de9bd2718c1ab77d14104f6d7147f9"
else
	build="CPU build"
	prefix_var=TFCIFAR_LIBTENSORFLOW gpu_flag="" gpu_flag_extract=""
	package=tensorflow-cpu
	wheels="tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl 2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c"
fi

say() { echo "install-libtensorflow: $*" >&2; }
fail() { say "$*"; exit 1; }

# stamp PREFIX prints what identifies the library files under PREFIX (size and
# modification time); a check that linked and ran them records it, so later runs
# need not link against the large library again. The CUDA build's stamp also
# names its wheels, written once all of them are in place.
stamp() {
	stat -L -c '%n %s %Y' "$1/lib/libtensorflow_cc.so.2" "$1/lib/libtensorflow_framework.so.2" "$1/include/tensorflow/c/c_api.h" 2>/dev/null
	if [ "$gpu" = 1 ]; then
		cat "$1/nvidia/.tfcifar-wheels" 2>/dev/null || echo "NVIDIA libraries incomplete"
	fi
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
	if [ "$gpu" = 1 ] && [ "$(cat "$prefix/nvidia/.tfcifar-wheels" 2>/dev/null)" != "$wheels" ]; then
		return 0 # the NVIDIA libraries are missing or from other wheels
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

# cached_wheel FILE SHA256 prints the path of the verified wheel FILE in the cache,
# fetching it first when it is missing or does not match its pinned sha256.
wheel_dir=${XDG_CACHE_HOME:-$HOME/.cache}/tfcifar/wheels
cached_wheel() {
	local wheel=$1 wheel_sha256=$2 path=$wheel_dir/$1 tmp spec
	if [ -f "$path" ]; then
		if echo "$wheel_sha256  $path" | sha256sum --check --status; then
			echo "$path"
			return 0
		fi
		say "the cached $wheel does not match its pinned sha256 (corrupted or replaced); fetching it again"
	fi
	# The wheel's file name starts with the distribution name and version.
	spec=$(echo "$wheel" | cut -d- -f1 | tr _ -)==$(echo "$wheel" | cut -d- -f2)
	command -v python3 >/dev/null || fail "python3 with pip is needed to fetch the $spec wheel"
	mkdir -p "$wheel_dir" || fail "cannot create $wheel_dir"
	tmp=$(mktemp -d "$wheel_dir/.fetch-XXXXXX")
	say "fetching $spec (wheel only, no dependencies) into $wheel_dir"
	if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps \
		--only-binary=:all: --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 \
		--python-version 311 --implementation cp --abi cp311 --abi none \
		-d "$tmp" "$spec" >&2; then
		rm -rf "$tmp"
		fail "could not fetch the $spec wheel with pip; check that the Python package index is reachable (pip config, proxy), or install libtensorflow $version yourself and set $prefix_var to its prefix"
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

# all_wheels prints the paths of the verified wheels of the build, fetching what is missing.
all_wheels() {
	local file sha
	while read -r file sha; do
		cached_wheel "$file" "$sha"
	done <<<"$wheels"
}

if [ "$mode" = wheel ]; then
	all_wheels
	exit 0
fi

system_prefix=/usr/local
if [ "$gpu" = 1 ]; then
	if [ -n "${TFCIFAR_LIBTENSORFLOW_GPU:-}" ]; then
		prefix=$TFCIFAR_LIBTENSORFLOW_GPU
	elif [ "$(id -u)" = 0 ]; then
		prefix=$system_prefix/lib/tfcifar/libtensorflow-$version-gpu
	else
		prefix=${XDG_DATA_HOME:-$HOME/.local/share}/tfcifar/libtensorflow-$version-gpu
	fi
elif [ -n "${TFCIFAR_LIBTENSORFLOW:-}" ]; then
	prefix=$TFCIFAR_LIBTENSORFLOW
elif [ "$(id -u)" = 0 ]; then
	prefix=$system_prefix
else
	prefix=${XDG_DATA_HOME:-$HOME/.local/share}/tfcifar/libtensorflow-$version
fi
if [ "$mode" = prefix ]; then
	echo "$prefix"
	exit 0
fi

print_env() {
	[ "$mode" = env ] || return 0
	if [ "$prefix" != "$system_prefix" ]; then
		echo "export CGO_CFLAGS=\"-I$prefix/include\""
		echo "export CGO_LDFLAGS=\"-L$prefix/lib -Wl,-rpath,$prefix/lib\""
		# The CUDA build's binaries find it through their run path alone.
		[ "$gpu" = 1 ] || echo "export LD_LIBRARY_PATH=\"$prefix/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
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
	fail "libtensorflow $version ($build) not found under $prefix; run scripts/install-libtensorflow.sh$gpu_flag"
fi
if [ -n "$found" ]; then
	say "replacing libtensorflow $found under $prefix with $version"
fi

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] ||
	fail "the $package wheel ships libtensorflow for Linux x86_64 only; this is $(uname -s)/$(uname -m)"
command -v python3 >/dev/null || fail "python3 is needed to extract the $package wheel"
command -v cc >/dev/null || fail "a C compiler (cc) is needed to check the installed library"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
mapfile -t whls < <(all_wheels)
[ "${#whls[@]}" = "$(echo "$wheels" | wc -l)" ] || exit 1

say "extracting the C library and headers$gpu_flag_extract"
python3 - "$work/stage" "${whls[@]}" <<'PY'
import os, sys, zipfile

stage, wheel, nvidia_wheels = sys.argv[1], sys.argv[2], sys.argv[3:]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
# The C API headers and the few headers they include from outside tensorflow/c.
header_dirs = ("tensorflow/include/tensorflow/c/", "tensorflow/include/xla/tsl/c/")
header_files = {
    "tensorflow/include/tensorflow/core/platform/ctstring.h",
    "tensorflow/include/tensorflow/core/platform/ctstring_internal.h",
    "tensorflow/include/tsl/platform/ctstring.h",
    "tensorflow/include/tsl/platform/ctstring_internal.h",
}

def copy(z, info, dest, mode):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with z.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    os.chmod(dest, mode)

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
        copy(z, info, dest, 0o755 if "/lib/" in dest else 0o644)

# The NVIDIA wheels: their nvidia/<name>/ trees (shared libraries, ptxas and
# libdevice for XLA), without headers, static libraries and Python files.
for w in nvidia_wheels:
    with zipfile.ZipFile(w) as z:
        for info in z.infolist():
            name = info.filename
            if (name.endswith("/") or not name.startswith("nvidia/") or "/include/" in name
                    or name.endswith((".a", ".py", ".pyc"))):
                continue
            copy(z, info, os.path.join(stage, name), 0o755 if (info.external_attr >> 16) & 0o111 or ".so" in name else 0o644)
PY

# The Go bindings link with -ltensorflow. In the wheel the C API is split over two
# libraries, so libtensorflow.so is a linker script naming both.
printf '/* libtensorflow %s (%s wheel): the C API is in libtensorflow_cc, TF_Status and friends in libtensorflow_framework. */\nINPUT(libtensorflow_cc.so.2 libtensorflow_framework.so.2)\n' \
	"$version" "$package" >"$work/stage/lib/libtensorflow.so"
ln -s libtensorflow_cc.so.2 "$work/stage/lib/libtensorflow.so.2"
ln -s libtensorflow_framework.so.2 "$work/stage/lib/libtensorflow_framework.so"
if [ "$gpu" = 1 ]; then
	# Written last (below), it says the NVIDIA libraries are complete.
	echo "$wheels" >"$work/wheels"
fi

# Move into place: each file is written next to its target and renamed over it,
# so a failure never leaves a half-written library behind.
mkdir -p "$prefix/lib" "$prefix/include" 2>/dev/null ||
	fail "cannot create $prefix (run as root for a system install, or set $prefix_var to a writable prefix)"
rm -f "$prefix/nvidia/.tfcifar-wheels"
(cd "$work/stage" && find . -type d) | while read -r d; do mkdir -p "$prefix/$d"; done
(cd "$work/stage" && find . ! -type d) | while read -r f; do
	mv -f "$work/stage/$f" "$prefix/$f.tfcifar-new" 2>/dev/null || cp -P "$work/stage/$f" "$prefix/$f.tfcifar-new"
	mv -f "$prefix/$f.tfcifar-new" "$prefix/$f"
done
if [ "$gpu" = 1 ]; then
	cp "$work/wheels" "$prefix/nvidia/.tfcifar-wheels.tfcifar-new"
	mv -f "$prefix/nvidia/.tfcifar-wheels.tfcifar-new" "$prefix/nvidia/.tfcifar-wheels"
fi
if [ "$prefix" = "$system_prefix" ] && command -v ldconfig >/dev/null; then
	# ldconfig notes that the linker script is not an ELF file; that is expected.
	ldconfig 2>&1 | grep -v 'libtensorflow.so is not an ELF file' >&2 || true
fi

found=$(installed_version "$prefix")
[ "$found" = "$version" ] || fail "installed under $prefix, but the library reports version '${found:-none}'"
say "installed libtensorflow $version ($build) under $prefix in $(($(date +%s) - start))s ($(du -sh "$prefix" | cut -f1))"
if [ "$prefix" != "$system_prefix" ] && [ "$mode" != env ]; then
	say "to build against it, set:"
	mode=env print_env >&2
fi
print_env
