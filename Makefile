# The two commands of the README:
#   make up     tools (once), the local control plane, the `local` stack up
#   make test   unit tests, then the same program under the real engine on the local
#               control plane, then the manifest and code linters
SHELL := /bin/bash
.DEFAULT_GOAL := help

STACK ?= local
OUT ?= out/$(STACK)
LOCAL_KUBECONFIG := $(CURDIR)/.cluster/kubeconfig
export KUBECONFIG ?= $(LOCAL_KUBECONFIG)
TOOLS_BIN := $(shell tools/build.sh --bin)
export PATH := $(TOOLS_BIN):$(PATH)
export PULUMI_SKIP_UPDATE_CHECK := true
# The driver, rebuilt when a file it is built from changes. `go run` would spend 0.25 s
# of every preview and up checking some 800 packages for staleness.
DRIVER := bin/stack
DRIVER_SOURCES := go.mod go.sum $(shell find cmd components config internal program -type f ! -name '*_test.go')
STACK_CMD := $(DRIVER) -s $(STACK)

.PHONY: recover test-realnode test-traffic restore migrate-charts help build bump-provider generate check-generated check-sizes tools cluster cluster-down up preview destroy render test test-unit test-e2e bench lint lint-manifests bump

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

build: $(DRIVER) ## build the program and the driver into bin/ (git-ignored)
	go build -o bin/backstage .

$(DRIVER): $(DRIVER_SOURCES)
	go build -o $@ ./cmd/stack

generate: ## write Pulumi.yaml's config block and docs/configuration.md's settings table from config/keys.go
	go run ./cmd/generate

check-generated: ## fail when Pulumi.yaml or docs/configuration.md's settings table differ from the key table
	@go run ./cmd/generate && git diff --exit-code -- Pulumi.yaml docs/configuration.md || { echo "run 'make generate' and commit the result"; exit 1; }

check-sizes: ## fail when a tracked file is larger than 1 MB
	@hack/check-tracked-sizes.sh

tools: ## build the pinned toolchain into the cache (once per version; progress every 20 s)
	@tools/build.sh

cluster: ## start the local control plane (etcd, apiserver, controllers, kwok) on 127.0.0.1; REAL_NODE=1 adds a real node (root)
	@tools/build.sh pulumi kubernetes-provider etcd controlplane kwok
	@hack/cluster.sh up
	@$(if $(filter-out 0,$(REAL_NODE)),hack/realnode.sh up)

cluster-down: ## stop the real node if it runs and the local control plane; WIPE=1 also deletes its data and the state of the stacks that lived in it (local, realnode)
	@hack/realnode.sh down >/dev/null 2>&1 || true
	@hack/cluster.sh down $(if $(WIPE),--wipe)
	@# A state that lists objects of a wiped cluster makes the next up fail on them.
	@$(if $(WIPE),for s in local realnode; do PULUMI_BACKEND_URL=file://$(CURDIR)/.pulumi-state pulumi stack rm $$s --force --yes --preserve-config --non-interactive >/dev/null 2>&1 && echo "forgot the $$s stack's state"; done; true)

# The real node's tests, as hack/test-e2e.sh names them.
REALNODE_TESTS := $(shell sed -n "s/^realnode_tests='\(.*\)'$$/\1/p" hack/test-e2e.sh)

test-realnode: ## the real node's tests alone (make test runs them too): real containers, packets and NetworkPolicies (starts the node if needed; root)
	@tools/build.sh pulumi kubernetes-provider etcd controlplane kwok objectstore
	@hack/cluster.sh up >/dev/null
	@hack/realnode.sh up
	@KUBECONFIG=$(LOCAL_KUBECONFIG) go test -tags e2e -count=1 -timeout 30m -v -run '^($(REALNODE_TESTS))$$' ./tests/ | grep -E '^(=== RUN|--- |\s+--- |ok|FAIL|PASS)|_test.go:'; exit $${PIPESTATUS[0]}

# The local control plane is started only when the target cluster is the local one.
define ensure_cluster
	@tools/build.sh pulumi kubernetes-provider
	@if [ "$$KUBECONFIG" = "$(LOCAL_KUBECONFIG)" ]; then hack/cluster.sh up >/dev/null; fi
	@if [ "$(STACK)" = local-edge ]; then hack/charts.sh >/dev/null; fi
endef

up: $(DRIVER) ## pulumi up STACK (default local) on $KUBECONFIG (default: the local control plane); RECOVER=1 recovers an interrupted deploy first
	$(ensure_cluster)
	@$(STACK_CMD) up
	@echo; kubectl get deployment,statefulset,pod,service,ingress,pvc,networkpolicy,pdb -n "$$($(STACK_CMD) output namespace)"

preview: $(DRIVER) ## pulumi preview STACK; DRIFT=1 refreshes from the cluster and fails on any difference
	$(ensure_cluster)
	@$(STACK_CMD) preview $(if $(DRIFT),-expect-no-changes)

recover: $(DRIVER) ## after an interrupted deploy: clear STACK's stale lock (FORCE=1: any lock), drop pending operations, preview
	$(ensure_cluster)
	@$(STACK_CMD) recover

restore: $(DRIVER) ## restore STACK's database to TIME (RFC 3339; backups in an object store) or BACKUP (the newest when empty), with Backstage stopped meanwhile and started again
	$(ensure_cluster)
	@STACK_CMD="$(STACK_CMD)" TIME="$(TIME)" hack/restore.sh "$$($(STACK_CMD) output namespace)" "$(BACKUP)"

migrate-charts: $(DRIVER) ## once per stack deployed before the Charts: forget the helm.sh/v3 Releases and let the Charts adopt their objects in place
	$(ensure_cluster)
	@$(STACK_CMD) migrate-charts

destroy: $(DRIVER) ## pulumi destroy STACK (the database StatefulSet, its claim and namespace are kept)
	$(ensure_cluster)
	@$(STACK_CMD) destroy

render: $(DRIVER) ## write STACK's manifests to OUT without a cluster (they contain secrets: never commit)
	@tools/build.sh pulumi kubernetes-provider
	@$(STACK_CMD) render -out $(OUT)

test-unit: ## the mock tests only (seconds): plain `go test ./...`; the end-to-end tests carry the e2e build tag
	go test -count=1 ./...

test-e2e: ## the real engine on the local control plane
	@tools/build.sh pulumi kubernetes-provider etcd controlplane kwok
	@hack/cluster.sh up >/dev/null
	KUBECONFIG=$(LOCAL_KUBECONFIG) go test -tags e2e -count=1 -run 'E2E' -v ./tests/

test: ## everything CI runs: tracked-file sizes, unit, end-to-end (with the real node where it can start; REAL_NODE=0 leaves it out), manifest lint, code lint
	@hack/check-tracked-sizes.sh
	@# The role scripts' test starts Debian's PostgreSQL server; it is skipped without one.
	@hack/system-packages.sh "the SQL and shell scripts' tests on a real PostgreSQL server, with pgBackRest" postgresql-15 pgbackrest || true
	@REAL_NODE=$(REAL_NODE) hack/test-e2e.sh
	@$(MAKE) --no-print-directory test-traffic lint-manifests lint

test-traffic: ## judge every scenario's NetworkPolicies as traffic with cyclonus's engine (tests/traffic, a module of its own)
	@objects=$$(mktemp -d); trap 'rm -rf "$$objects"' EXIT; \
	  TRAFFIC_OBJECTS=$$objects go test -count=1 -run '^TestRenderedObjectsForTheTrafficMatrix$$' ./tests/ >/dev/null && \
	  cd tests/traffic && TRAFFIC_OBJECTS=$$objects go test -count=1 -v ./... | grep -E '^(---|ok|FAIL)|flows judged|allowed='; exit $${PIPESTATUS[0]}

lint-manifests: $(DRIVER) ## render the local stack with the real provider and fail on any kube-score CRITICAL
	@tools/build.sh pulumi kubernetes-provider lint
	@rendered=$$(mktemp -d); trap 'rm -rf "$$rendered"' EXIT; \
	  $(DRIVER) -s local render -out "$$rendered" > "$$rendered.log" 2>&1 || { tail -20 "$$rendered.log"; exit 1; }; \
	  kube-score score --output-format ci "$$rendered"/1-manifest/*.yaml | grep -v '^\[OK\]'; \
	  status=$${PIPESTATUS[0]}; [ $$status -eq 0 ] && echo "kube-score: no critical finding in the local stack's manifests"; exit $$status

lint: ## actionlint over the workflows, renovate.json against Renovate's schema, golangci-lint over the code, shellcheck over the scripts the pods run and hack/
	@tools/build.sh lint golangci-lint renovate-schema
	@if hack/system-packages.sh "the lint of the pods' shell scripts" shellcheck; then shellcheck components/postgres/scripts/*.sh && shellcheck -x -P SCRIPTDIR hack/*.sh && echo "shellcheck: the pods' scripts and hack/ are clean"; fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$unformatted" ] || { echo "gofmt would change: $$unformatted"; exit 1; }
	actionlint
	renovate-schema $(TOOLS_BIN)/renovate-schema.json renovate.json
	golangci-lint run --build-tags e2e ./...
	cd tests/traffic && golangci-lint run ./...

bump: $(DRIVER) ## set STACK's Backstage image to IMAGE after validating it (e.g. make bump STACK=prod IMAGE=ghcr.io/org/backstage:1.2.3)
	@test -n "$(IMAGE)" || { echo "usage: make bump STACK=prod IMAGE=<registry>/<repository>:<tag>"; exit 2; }
	@$(STACK_CMD) bump $(IMAGE)

bump-provider: ## pin the Kubernetes provider build in tools/versions.env to the release go.mod's SDK names (needs GitHub)
	@hack/bump-provider.sh

bench: ## the program's build and whole-process preview, no-op, fresh up and bump beside Helm's with the official chart, then the engine-time benchmarks
	@tools/build.sh pulumi kubernetes-provider etcd controlplane kwok helm
	@hack/cluster.sh up >/dev/null
	KUBECONFIG=$(LOCAL_KUBECONFIG) hack/bench.sh
	KUBECONFIG=$(LOCAL_KUBECONFIG) go test -tags e2e -run '^$$' -bench . -benchtime 3x -timeout 20m ./tests/
