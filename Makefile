# driftgate: build, test, lint, demo and the two-cluster test bed.
# `make test` is the one command CI runs (.ci/run).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := bin/driftgate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/driftgate/driftgate/internal/version.Version=$(VERSION)

# The test bed: kube-apiserver, etcd and kubectl built from source once per
# machine, kept in a per-user cache that every clone shares.
K8S_VERSION := v1.36.3
ETCD_VERSION := v3.6.8
TESTBED_BIN ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/driftgate/testbed/$(K8S_VERSION)-etcd-$(ETCD_VERSION)
TESTBED_STAMP := $(K8S_VERSION) $(ETCD_VERSION) pdeathsig-1
# The realistic bed adds kube-controller-manager, kube-scheduler and kwok to
# the same directory under a stamp of their own, so that adding them never
# rebuilds the basic bed; a rebuild of the basic bed removes them with the
# directory, and they are built again.
KWOK_VERSION := v0.8.0
TESTBED_REALISTIC_STAMP := $(K8S_VERSION) kwok-$(KWOK_VERSION) pdeathsig-1
# The S3 bed adds SeaweedFS's weed (an S3-compatible server) to the same
# directory under a stamp of its own, built from its own tools module
# (fixtures/testbed/seaweedfs), whose go.mod pins this version.
SEAWEEDFS_VERSION := $(shell sed -n 's,^require github.com/seaweedfs/seaweedfs ,,p' fixtures/testbed/seaweedfs/go.mod)
TESTBED_S3_STAMP := seaweedfs-$(SEAWEEDFS_VERSION) pdeathsig-1
K8S_LDFLAGS := $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=36 -X $(p).gitTreeState=clean)
export DRIFTGATE_TESTBED_BIN := $(TESTBED_BIN)

STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck-$(STATICCHECK_VERSION)

.PHONY: all build version ko image test test-short lint demo testbed testbed-realistic testbed-keeper testbed-s3 chromium bench clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/driftgate

## version: the version `make build` and `make image` stamp
version:
	@echo $(VERSION)

# The image: ko, built once per machine from its own tools module
# (fixtures/image/ko, whose go.mod pins the version) into a per-user cache,
# layers driftgate onto a base made here (fixtures/image/base), with no
# Docker engine and no registry. The base is handed to ko through its cache
# layout ($KOCACHE/img) under a name that resolves nowhere, by digest: ko
# finds it there and never asks a registry (a lookup would fail, not pull).
KO_VERSION := $(shell sed -n 's,^require github.com/google/ko ,,p' fixtures/image/ko/go.mod)
KO := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/driftgate/tools/ko-$(KO_VERSION)
IMAGE_REPO ?= ghcr.io/driftgate/driftgate
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_DIR ?= bin/image
IMAGE_SOURCE := https://github.com/driftgate/driftgate

$(KO):
	@echo "ko: building ko $(KO_VERSION) into $@ (once per machine; 3 to 10 minutes on 2 cores)"
	@d=$$(mkdir -p "$(dir $@)" && mktemp -d "$(dir $@).build-ko-XXXXXX"); trap 'rm -rf "$$d"' EXIT; \
		(cd fixtures/image/ko && $(GO) build -trimpath -o "$$d/ko" github.com/google/ko); \
		mv "$$d/ko" "$@"

## ko: build ko if needed and print its path
ko: $(KO)
	@echo $(KO)

## image: the image as an OCI layout in $(IMAGE_DIR)/oci (an index of IMAGE_PLATFORMS), and with one platform also a tarball for docker load, $(IMAGE_DIR)/driftgate.tar; no Docker, no registry
# Times are the commit's (SOURCE_DATE_EPOCH), so the same commit and CA
# bundle give the same digests. $(IMAGE_DIR)/ref is the image's reference,
# $(IMAGE_REPO):$(VERSION)@<digest>. ko writes into bin/.image-PID first,
# and the result replaces IMAGE_DIR whole: ko refuses a layout path that is
# not a valid repository name (upper case, as in a test's temp directory),
# and a failed build leaves the previous image in place.
image: $(KO)
	@tmp=$$(mktemp -d); out=bin/.image-$$$$; trap 'rm -rf "$$tmp" "$$out"' EXIT; \
	epoch=$$(git log -1 --format=%ct 2>/dev/null || echo 0); \
	revision=$$(git rev-parse HEAD 2>/dev/null || echo unknown); \
	base=$$(SOURCE_DATE_EPOCH=$$epoch $(GO) run ./fixtures/image/base -layout "$$tmp/img" -platforms '$(IMAGE_PLATFORMS)'); \
	rm -rf "$$out"; mkdir -p "$$out"; \
	tarball=; case '$(IMAGE_PLATFORMS)' in *,*) ;; *) tarball="--tarball=$$out/driftgate.tar";; esac; \
	built=$$(KOCACHE="$$tmp" KO_DEFAULTBASEIMAGE="base.driftgate.invalid/static@$$base" KO_DOCKER_REPO='$(IMAGE_REPO)' \
	SOURCE_DATE_EPOCH=$$epoch KO_DATA_DATE_EPOCH=$$epoch VERSION='$(VERSION)' \
		$(KO) build ./cmd/driftgate --bare --push=false --sbom=none \
		--platform='$(IMAGE_PLATFORMS)' --tags='$(VERSION)' \
		--image-label=org.opencontainers.image.source=$(IMAGE_SOURCE),org.opencontainers.image.version='$(VERSION)',org.opencontainers.image.revision=$$revision \
		--oci-layout-path="$$out/oci" $$tarball); \
	echo '$(IMAGE_REPO):$(VERSION)@'"$${built##*@}" > "$$out/ref"; \
	rm -rf "$(IMAGE_DIR)"; mkdir -p "$$(dirname "$(IMAGE_DIR)")"; mv "$$out" "$(IMAGE_DIR)"; \
	echo "image: $$(cat "$(IMAGE_DIR)/ref") in $(IMAGE_DIR)/oci$${tarball:+ and $(IMAGE_DIR)/driftgate.tar}"

## testbed: build kube-apiserver, etcd and kubectl (about 5 minutes the first time; skipped when present)
testbed:
	@if [ "$$(cat '$(TESTBED_BIN)/.stamp' 2>/dev/null)" = "$(TESTBED_STAMP)" ]; then \
		echo "test bed: $(TESTBED_BIN) has kube-apiserver $(K8S_VERSION), etcd $(ETCD_VERSION)"; \
	else \
		echo "test bed: building kube-apiserver $(K8S_VERSION), etcd $(ETCD_VERSION) and kubectl into $(TESTBED_BIN) (about 5 minutes on 2 cores)"; \
		tmp=$$(mktemp -d "$(dir $(TESTBED_BIN)).build-XXXXXX" 2>/dev/null || { mkdir -p "$(dir $(TESTBED_BIN))"; mktemp -d "$(dir $(TESTBED_BIN)).build-XXXXXX"; }); \
		trap 'rm -rf "$$tmp"' EXIT; \
		mkdir -p "$$tmp/real"; \
		(cd fixtures/testbed/tools && \
			$(GO) build -trimpath -ldflags '$(K8S_LDFLAGS)' -o "$$tmp/real/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver && \
			$(GO) build -trimpath -ldflags '$(K8S_LDFLAGS)' -o "$$tmp/real/kubectl" k8s.io/kubernetes/cmd/kubectl && \
			$(GO) build -trimpath -o "$$tmp/real/etcd" go.etcd.io/etcd/server/v3); \
		$(GO) build -trimpath -o "$$tmp/pdeathsig" ./fixtures/testbed/pdeathsig; \
		for b in kube-apiserver etcd kubectl; do cp "$$tmp/pdeathsig" "$$tmp/$$b"; done; \
		rm "$$tmp/pdeathsig"; \
		echo "$(TESTBED_STAMP)" > "$$tmp/.stamp"; \
		rm -rf "$(TESTBED_BIN)"; mv "$$tmp" "$(TESTBED_BIN)"; trap - EXIT; \
		echo "test bed: ready in $(TESTBED_BIN)"; \
	fi

## testbed-realistic: add kube-controller-manager, kube-scheduler and kwok to the test bed (10 to 25 minutes on 2 cores the first time; skipped when present)
# kwok is built from its own module (go install pkg@version), not the tools
# module: its dependencies differ from Kubernetes v1.36.3's, and the tools
# module's versions decide kube-apiserver's build.
testbed-realistic: testbed
	@if [ "$$(cat '$(TESTBED_BIN)/.stamp-realistic' 2>/dev/null)" = "$(TESTBED_REALISTIC_STAMP)" ]; then \
		echo "test bed: $(TESTBED_BIN) has kube-controller-manager, kube-scheduler $(K8S_VERSION) and kwok $(KWOK_VERSION)"; \
	else \
		echo "test bed: building kube-controller-manager, kube-scheduler $(K8S_VERSION) and kwok $(KWOK_VERSION) into $(TESTBED_BIN) (10 to 25 minutes on 2 cores)"; \
		tmp=$$(mktemp -d "$(TESTBED_BIN)/.build-realistic-XXXXXX"); \
		trap 'rm -rf "$$tmp"' EXIT; \
		mkdir -p "$$tmp/real"; \
		(cd fixtures/testbed/tools && \
			$(GO) build -trimpath -ldflags '$(K8S_LDFLAGS)' -o "$$tmp/real/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager && \
			$(GO) build -trimpath -ldflags '$(K8S_LDFLAGS)' -o "$$tmp/real/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler); \
		GOFLAGS=-mod=mod GOBIN="$$tmp/real" $(GO) install -trimpath sigs.k8s.io/kwok/cmd/kwok@$(KWOK_VERSION); \
		$(GO) build -trimpath -o "$$tmp/pdeathsig" ./fixtures/testbed/pdeathsig; \
		for b in kube-controller-manager kube-scheduler kwok; do \
			mv "$$tmp/real/$$b" "$(TESTBED_BIN)/real/$$b"; cp "$$tmp/pdeathsig" "$(TESTBED_BIN)/$$b"; done; \
		echo "$(TESTBED_REALISTIC_STAMP)" > "$(TESTBED_BIN)/.stamp-realistic"; \
		echo "test bed: realistic parts ready in $(TESTBED_BIN)"; \
	fi

## testbed-keeper: install the keeper (fixtures/testbed/pdeathsig) under every test-bed binary's name; seconds, redone when its source changes
KEEPER_STAMP = $(shell cat fixtures/testbed/pdeathsig/main.go | sha256sum | cut -c1-16)
testbed-keeper: testbed-realistic
	@if [ "$$(cat '$(TESTBED_BIN)/.stamp-keeper' 2>/dev/null)" != "$(KEEPER_STAMP)" ]; then \
		tmp=$$(mktemp -d "$(TESTBED_BIN)/.build-keeper-XXXXXX"); trap 'rm -rf "$$tmp"' EXIT; \
		$(GO) build -trimpath -o "$$tmp/keeper" ./fixtures/testbed/pdeathsig; \
		for b in kube-apiserver etcd kubectl kube-controller-manager kube-scheduler kwok weed; do \
			[ "$$b" != weed ] || [ -e "$(TESTBED_BIN)/real/weed" ] || continue; \
			cp "$$tmp/keeper" "$$tmp/$$b.new" && mv "$$tmp/$$b.new" "$(TESTBED_BIN)/$$b"; done; \
		echo "$(KEEPER_STAMP)" > "$(TESTBED_BIN)/.stamp-keeper"; \
		echo "test bed: keeper $(KEEPER_STAMP) installed in $(TESTBED_BIN)"; \
	fi

## testbed-s3: add SeaweedFS's weed, the S3-compatible server of the object-storage tests (fixtures/s3bed), to the test bed (10 to 25 minutes on 2 cores the first time; skipped when present)
# Built like the bed's other binaries: real/weed run by the keeper installed
# as weed, so that a server a test started dies with the test binary.
testbed-s3: testbed
	@if [ "$$(cat '$(TESTBED_BIN)/.stamp-s3' 2>/dev/null)" = "$(TESTBED_S3_STAMP)" ]; then \
		echo "test bed: $(TESTBED_BIN) has SeaweedFS $(SEAWEEDFS_VERSION)"; \
	else \
		echo "test bed: building SeaweedFS $(SEAWEEDFS_VERSION) into $(TESTBED_BIN) (10 to 25 minutes on 2 cores)"; \
		tmp=$$(mktemp -d "$(TESTBED_BIN)/.build-s3-XXXXXX"); \
		trap 'rm -rf "$$tmp"' EXIT; \
		(cd fixtures/testbed/seaweedfs && $(GO) build -trimpath -o "$$tmp/weed" github.com/seaweedfs/seaweedfs/weed); \
		$(GO) build -trimpath -o "$$tmp/keeper" ./fixtures/testbed/pdeathsig; \
		mkdir -p "$(TESTBED_BIN)/real"; \
		mv "$$tmp/weed" "$(TESTBED_BIN)/real/weed"; mv "$$tmp/keeper" "$(TESTBED_BIN)/weed"; \
		echo "$(TESTBED_S3_STAMP)" > "$(TESTBED_BIN)/.stamp-s3"; \
		echo "test bed: SeaweedFS ready in $(TESTBED_BIN)"; \
	fi

## chromium: Debian's headless browser, for the report's rendering test
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "chromium: installing Debian's chromium for the report test"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; fi; }
	@chromium --version

## test: unit and e2e tests against the real test bed (never -short)
# The run gets a TMPDIR of its own, where envtest puts each control plane's
# files, so the check afterwards finds processes of this run only (a demo or
# benchmark running beside it is not a leak). A realistic bed's controller
# manager, scheduler and kwok, and the S3 bed's weed, name files under
# $tmp/driftgate-testbed-*.
test: testbed-keeper testbed-s3 chromium $(KO)
	@tmp=$$(mktemp -d -t driftgate-test-XXXXXX); \
	rc=0; TMPDIR=$$tmp $(GO) test -count=1 -timeout 40m ./... || rc=$$?; \
	(cd fixtures/realism && TMPDIR=$$tmp $(GO) test -count=1 -timeout 20m ./...) || rc=$$?; \
	if pgrep -f "$$tmp/([k]8s_test_framework|[d]riftgate-testbed-)" >/dev/null; then \
		echo "test bed processes left running:"; pgrep -af "$$tmp/([k]8s_test_framework|[d]riftgate-testbed-)"; rc=1; fi; \
	rm -rf "$$tmp"; exit $$rc

## test-short: unit tests only, for quick local runs
test-short:
	$(GO) test -short ./...

$(STATICCHECK):
	d=$$(mktemp -d) && GOBIN=$$d $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) && mkdir -p $(dir $(STATICCHECK)) && mv $$d/staticcheck $(STATICCHECK)

## lint: gofmt, go vet and staticcheck (pinned)
lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^fixtures/testbed/tools/')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	cd fixtures/realism && $(GO) vet ./... && $(STATICCHECK) ./...

## demo: the gate on the local dev/prod test bed
demo: build testbed-keeper
	$(GO) run ./fixtures/demo

clean:
	rm -rf bin

## fuzz: run each fuzz target for FUZZTIME (default 30s); a crasher is written to the package's testdata/fuzz/
FUZZTIME ?= 30s
FUZZ_TARGETS := FuzzDecodeSnapshot:./drift FuzzReadManifests:./drift FuzzDecode:./internal/jsonx FuzzParseRuleSet:./rules \
	FuzzCompileCEL:./rules FuzzParseConfig:./drift/config FuzzParse:./drift/dns \
	FuzzRender:./drift/output FuzzLine:./internal/textsafe
.PHONY: fuzz
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

## bench: fill the test bed and time snapshot, diff and gate against kubectl and a raw-LIST floor, then the Go benchmarks of the hot paths (BENCHMARKS.md; not part of make test)
BENCH_FLAGS ?=
GOBENCH ?= .
bench: build testbed-keeper
	$(GO) build -o bin/bench-timer ./fixtures/bench/timer
	$(GO) build -o bin/bench-floor ./fixtures/bench/floor
	$(GO) run ./fixtures/bench -driftgate $(BIN) -timer bin/bench-timer -floor bin/bench-floor $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench '$(GOBENCH)' -benchmem ./drift/ ./rules/ ./drift/netpol/ ./drift/dns/
