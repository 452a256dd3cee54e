# Shard for Swift: the commands a newcomer runs. Each target installs what it needs.
SHELL := /bin/bash
SWIFT ?= swift
DEBIAN_PACKAGES := pkg-config libwebsockets-dev libcurl4-openssl-dev libsentencepiece-dev libopenblas-dev
FIXTURE := Fixtures/kjv-tiny
BENCH_VENV := .venv-bench
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release test demo bench-engine clean

## deps: install the Debian packages the build links against (only those missing).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## test: the test command (unit tests, tests against llama.cpp's reference outputs, executable tests).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## demo: generate scripture-like text from the embedded fixture model.
demo: release
	.build/release/shard-sidecar complete --model $(FIXTURE)/model-q8_0.gguf \
		--tokenizer $(FIXTURE)/tokenizer.model --prompt "And God said," --max-new-tokens 96 --shards 2

## bench-engine: release-build engine benchmark next to llama.cpp on the same files and thread count.
bench-engine: release
	@bash Benchmarks/run-engine-bench.sh

clean:
	rm -rf .build
