# tfcifar: the two commands of the README are `make run` and `make test`.
# Both install what is missing first (libtensorflow 2.21.0, the Python
# virtualenv for interop checks), so they work on a fresh machine.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
GO ?= go
CONFIG ?= configs/transfer.yaml
DATA ?=
OUT ?=
ARGS ?=
BIN := bin/tfcifar
# GPU=1: build, run and test against the CUDA build of libtensorflow (see the
# README's GPU section), installed next to the CPU one; the binary is
# bin/tfcifar-gpu.
GPU ?=

# TensorFlow's informational start-up lines (oneDNN, CPU features) are noise in
# the Python tools' output too (tfcifar hides them itself).
export TF_CPP_MIN_LOG_LEVEL ?= 1

# make test DATA=DIR: the tests read CIFAR-10 from DIR (as TFCIFAR_DATA, made
# absolute since each package's tests run in its own directory). Without it they
# look in the user cache and download there, as tfcifar does.
ifneq ($(DATA),)
test: export TFCIFAR_DATA := $(abspath $(DATA))
endif

# Installs libtensorflow when missing and sets the cgo flags a user-prefix
# install needs (none for the system install made as root).
LIBTF := eval "$$(scripts/install-libtensorflow.sh --env)"
ifeq ($(GPU),1)
LIBTF := eval "$$(scripts/install-libtensorflow.sh --gpu --env)"
BIN := bin/tfcifar-gpu
endif

.PHONY: run test lint build libtensorflow python bench clean

run: build
	$(BIN) -config $(CONFIG) $(if $(DATA),-data $(DATA)) $(if $(OUT),-out $(OUT)) $(ARGS)

# The linter, pinned in tools/go.mod (a module of its own, so that go.mod
# holds only what tfcifar imports), with the settings of .golangci.yml.
lint:
	$(LIBTF) && $(GO) tool -modfile=tools/go.mod golangci-lint run ./...

ifeq ($(GPU),1)
# make test GPU=1: the CUDA build's install checks, its Go tests and the
# reference trained one epoch on it and on the CPU build (no GPU needed).
test:
	scripts/test-gpu-build
else
# The linter runs first, then the real-data test of cifar so that CIFAR-10 is
# found, or downloaded once, before the packages' tests run in parallel.
test: lint python
	$(LIBTF) && $(GO) vet ./... && $(GO) test -count=1 -v -run 'TestVersion|TestGradients' ./internal/libtf/ && \
		$(GO) test -count=1 -run '^TestRealData$$' ./cifar/ && $(GO) test -count=1 -timeout 30m ./...
	"$$(scripts/setup-python.sh | tail -n1)" scripts/keras_reference_test.py
	"$$(scripts/setup-python.sh | tail -n1)" scripts/benchlib_test.py
endif

build:
	$(LIBTF) && $(GO) build -o $(BIN) ./cmd/tfcifar

libtensorflow:
	scripts/install-libtensorflow.sh $(if $(filter 1,$(GPU)),--gpu)

python:
	scripts/setup-python.sh >/dev/null

# make bench: tfcifar against the Keras reference (scripts/bench), recorded in
# BENCHMARKS.md's section for this CPU, benchmarks/<cpu>.json and the chart
# benchmarks/times.png. BENCH_ARGS adds options, e.g. "--rounds 1 --epochs 1"
# for a quick try or "--tfcifar-args '-set run.precision=mixed_bfloat16'".
BENCH_ARGS ?=
bench: build python
	scripts/bench $(if $(DATA),--data $(DATA)) --update BENCHMARKS.md $(BENCH_ARGS)

clean:
	rm -rf bin
