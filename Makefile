# Floe: pure-Swift Ice runtime + pipelined file transfer.
SWIFT      ?= swift
PREFIX     ?= /usr/local
CONFIG     ?= release
BUILD_DIR  := .build/$(CONFIG)

.PHONY: all build test demo bench install clean deps

all: build

build:
	$(SWIFT) build -c $(CONFIG)

## Installs what a fresh Debian machine lacks (real Ice 3.7 peers, zlib, bzip2, socat, gnuplot).
deps:
	@./scripts/install-deps.sh

## Runs every test: unit, wire vectors, fuzz, interop with real Ice 3.7 peers, end-to-end.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## Starts a loopback ftserver, sends a generated file with progress, verifies it, stops.
demo: deps build
	./scripts/demo.sh $(BUILD_DIR)

## Benchmarks against raw TCP and the real Ice runtime; results in results/.
bench: deps
	$(SWIFT) build -c release
	python3 scripts/bench.py $(BUILD_DIR) $(BENCH_ARGS)

install: build
	install -d $(PREFIX)/bin $(PREFIX)/etc/floe
	install -m 755 $(BUILD_DIR)/ftserver $(BUILD_DIR)/ftclient $(PREFIX)/bin/
	install -m 644 config/ftserver.conf config/ftclient.conf $(PREFIX)/etc/floe/

clean:
	rm -rf .build
