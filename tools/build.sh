#!/usr/bin/env bash
# Builds the project's tools from the Go module proxy, once per pinned version, into a
# cache folder outside the repository, and links them into one bin folder.
#
#   tools/build.sh [TOOL...]   build what is missing (default: all but helm, node and
#                              objectstore, which only some targets ask for); prints progress
#   tools/build.sh --bin       print the bin folder to put on PATH
#
# Versions live in the go.mod of each folder under tools/ (and, for the Kubernetes
# provider, whose source has to be patched before it builds, in versions.env).
set -euo pipefail

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${BACKSTAGE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backstage-pulumi/tools}
bin_dir="$cache_root/bin"
all_tools=(pulumi kubernetes-provider etcd controlplane kwok lint golangci-lint renovate-schema helm node objectstore)

# shellcheck source=versions.env
source "$tools_dir/versions.env"

log() { printf 'tools: %s\n' "$*" >&2; }

module_version() { # folder module -> version pinned in that folder's go.mod
  (cd "$tools_dir/$1" && go list -m -f '{{.Version}}' "$2")
}

fingerprint() { # files... -> short hash, so an edited pin lands in a new cache folder
  cat "$@" | sha256sum | cut -c1-12
}

# run_with_progress NAME LOG CMD...: runs a build, printing a line every 20 s so that a
# long cold build does not look hung, and the log's tail if it fails.
run_with_progress() {
  local name=$1 logfile=$2 start pid rc=0
  shift 2
  start=$(date +%s)
  "$@" >"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name: $(( $(date +%s) - start ))s, $(grep -c . "$logfile" || true) packages compiled so far ($(tail -n 1 "$logfile" | cut -c1-70))"
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "building $name FAILED (exit $rc); the last lines of $logfile:"
    tail -n 25 "$logfile" >&2
    return "$rc"
  fi
  log "$name: built in $(( $(date +%s) - start ))s"
}

# link_bins DIR NAMES...: points the shared bin folder at this version's binaries.
link_bins() {
  local dir=$1
  shift
  mkdir -p "$bin_dir"
  for b in "$@"; do ln -sfn "$dir/$b" "$bin_dir/$b"; done
}

# build_go_tools NAME FOLDER LDFLAGS "PKG=BIN"...: builds packages of a tools module.
build_go_tools() {
  local name=$1 folder=$2 ldflags=$3
  shift 3
  local out="$cache_root/$name/$(fingerprint "$tools_dir/$folder/go.mod" "$tools_dir/$folder/go.sum" "$tools_dir/versions.env")"
  local bins=() spec
  for spec in "$@"; do bins+=("${spec#*=}"); done
  if [ ! -f "$out/.complete" ]; then
    log "building $name into $out (cold: several minutes; progress every 20 s)"
    mkdir -p "$out"
    for spec in "$@"; do
      run_with_progress "$name/${spec#*=}" "$out/build-${spec#*=}.log" \
        env -C "$tools_dir/$folder" go build -v -ldflags "$ldflags" -o "$out/${spec#*=}" "${spec%%=*}" || return 1
    done
    touch "$out/.complete"
  fi
  link_bins "$out" "${bins[@]}"
}

build_pulumi() {
  local v
  v=$(module_version pulumi github.com/pulumi/pulumi/pkg/v3)
  # The Automation API refuses a CLI that does not report its version.
  build_go_tools pulumi pulumi "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi=pulumi
}

build_controlplane() {
  local v
  v=$(module_version controlplane k8s.io/kubernetes)
  local ld="-X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2)"
  build_go_tools controlplane controlplane "$ld" \
    k8s.io/kubernetes/cmd/kube-apiserver=kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager=kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler=kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl=kubectl
}

build_etcd() {
  build_go_tools etcd etcd "" go.etcd.io/etcd/server/v3=etcd
}

build_kwok() {
  build_go_tools kwok kwok "" sigs.k8s.io/kwok/cmd/kwok=kwok || return 1
  # kwok needs stage definitions to move fake nodes and pods through their lifecycle;
  # they ship in its module, so take them from the same pinned version.
  local src
  src=$(cd "$tools_dir/kwok" && go mod download -json sigs.k8s.io/kwok | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src/kustomize/stage" ] || { log "kwok's stage definitions were not found in its module"; return 1; }
  mkdir -p "$cache_root/kwok"
  {
    for stage in node/fast node/heartbeat pod/fast; do
      for f in "$src/kustomize/stage/$stage"/*.yaml; do
        case "$f" in */kustomization.yaml) continue ;; esac
        echo "---"
        cat "$f"
      done
    done
  } >"$bin_dir/kwok-stages.yaml"
}

build_lint() {
  build_go_tools lint lint "" \
    github.com/zegl/kube-score/cmd/kube-score=kube-score \
    github.com/rhysd/actionlint/cmd/actionlint=actionlint
}

# The validator is a small module of ours; the schema comes from Renovate's npm tarball
# at the pinned version, so `make lint` checks renovate.json against what that release
# accepts, offline after the first run.
build_renovate-schema() {
  build_go_tools renovate-schema renovate-schema "" .=renovate-schema || return 1
  local RENOVATE_VERSION
  # shellcheck source=renovate-schema/renovate.env
  source "$tools_dir/renovate-schema/renovate.env"
  local out="$cache_root/renovate/$RENOVATE_VERSION"
  if [ ! -f "$out/renovate-schema.json" ]; then
    log "fetching renovate@$RENOVATE_VERSION's config schema from the npm registry"
    mkdir -p "$out"
    (cd "$out" && npm pack --silent "renovate@$RENOVATE_VERSION" >/dev/null &&
      tar xzf "renovate-$RENOVATE_VERSION.tgz" --strip-components=1 package/renovate-schema.json &&
      rm -f "renovate-$RENOVATE_VERSION.tgz") || { rm -rf "$out"; log "fetching Renovate's schema FAILED"; return 1; }
  fi
  ln -sfn "$out/renovate-schema.json" "$bin_dir/renovate-schema.json"
}

# Only the real node (hack/realnode.sh) needs these: the kubelet and kube-proxy of the
# control plane's release, kube-network-policies for NetworkPolicies, CoreDNS as a host
# process, and crane's registry and image assembly.
build_node() {
  local v
  v=$(module_version node k8s.io/kubernetes)
  build_go_tools kubelet node "-X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2)" \
    k8s.io/kubernetes/cmd/kubelet=kubelet k8s.io/kubernetes/cmd/kube-proxy=kube-proxy || return 1
  build_netpol || return 1
  build_go_tools coredns coredns "" github.com/coredns/coredns=coredns || return 1
  build_go_tools crane crane "" github.com/google/go-containerregistry/cmd/crane=crane
}

# build_netpol: kube-network-policies from its module, patched (tools/netpol), with the
# patched google/nftables put in place of the released one.
build_netpol() {
  local KUBE_NETWORK_POLICIES_VERSION NFTABLES_VERSION
  # shellcheck source=netpol/versions.env
  source "$tools_dir/netpol/versions.env"
  local out="$cache_root/netpol/$(fingerprint "$tools_dir/netpol"/*)"
  if [ ! -f "$out/.complete" ]; then
    log "building kube-network-policies $KUBE_NETWORK_POLICIES_VERSION into $out (cold: about a minute)"
    local src work=$out/src
    rm -rf "$work" && mkdir -p "$work"
    src=$(go mod download -json "sigs.k8s.io/kube-network-policies@$KUBE_NETWORK_POLICIES_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    cp -r "$src" "$work/kube-network-policies"
    src=$(go mod download -json "github.com/google/nftables@$NFTABLES_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    cp -r "$src" "$work/nftables"
    chmod -R u+w "$work"
    patch -s -d "$work/nftables" -p1 <"$tools_dir/netpol/nftables-xt-queue.patch" &&
      patch -s -d "$work/kube-network-policies" -p1 <"$tools_dir/netpol/kubeconfig.patch" || return 1
    (cd "$work/kube-network-policies" && go mod edit -replace github.com/google/nftables=../nftables) || return 1
    run_with_progress netpol/kube-network-policies "$out/build.log" \
      env -C "$work/kube-network-policies" go build -v -o "$out/kube-network-policies" ./cmd || return 1
    rm -rf "$work"
    touch "$out/.complete"
  fi
  link_bins "$out" kube-network-policies
}

# Only the object-store tests and the real node need these: versitygw, the S3 server, and
# rclone, built static (as upstream's image carries it) at pins.RcloneImage's tag.
build_objectstore() {
  build_go_tools versitygw versitygw "" github.com/versity/versitygw/cmd/versitygw=versitygw || return 1
  CGO_ENABLED=0 build_go_tools rclone rclone "-s -w" github.com/rclone/rclone=rclone
}

# Only `make bench` needs Helm: the official chart beside the program, on one plane.
build_helm() {
  build_go_tools helm helm "" helm.sh/helm/v3/cmd/helm=helm
}

build_golangci-lint() {
  build_go_tools golangci-lint golangci-lint "" \
    github.com/golangci/golangci-lint/v2/cmd/golangci-lint=golangci-lint
}

# The provider's embedded schema is generated at release time and is not in the module
# zip, and its go.mod points the SDK at a sibling folder: so copy the source out of the
# module cache, repoint the SDK at its release, generate, then build.
build_kubernetes-provider() {
  local out="$cache_root/kubernetes-provider/$KUBERNETES_PROVIDER_VERSION-$(fingerprint "$tools_dir/versions.env")"
  if [ ! -f "$out/.complete" ]; then
    log "building the Kubernetes provider $KUBERNETES_PROVIDER_VERSION into $out"
    rm -rf "$out"
    mkdir -p "$out"
    local src
    src=$(cd "$out" && go mod download -json "$KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_PSEUDO_VERSION" |
      sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    [ -d "$src" ] || { log "downloading $KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_PSEUDO_VERSION failed"; return 1; }
    cp -r "$src" "$out/src" && chmod -R u+w "$out/src" || return 1
    sed -i "s#^replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => ../sdk\$#replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 v$KUBERNETES_PROVIDER_VERSION#" "$out/src/go.mod"
    grep -q "sdk/v4 v$KUBERNETES_PROVIDER_VERSION" "$out/src/go.mod" || { log "could not repoint the provider's SDK replace"; return 1; }
    (cd "$out/src/cmd/pulumi-resource-kubernetes" && GOFLAGS=-mod=mod VERSION="$KUBERNETES_PROVIDER_VERSION" go run generate.go) ||
      { log "generating the provider schema failed"; return 1; }
    run_with_progress kubernetes-provider "$out/build.log" \
      env -C "$out/src" GOFLAGS=-mod=mod go build -v \
      -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" \
      -o "$out/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes || return 1
    touch "$out/.complete"
  fi
  link_bins "$out" pulumi-resource-kubernetes
}

if [ "${1:-}" = "--bin" ]; then
  echo "$bin_dir"
  exit 0
fi
build_lane() {
  local tool
  for tool in "$@"; do "build_$tool" || return 1; done
}

# Everything, in two lanes: one cold build rarely keeps both cores busy (linking, module
# downloads), so pairing the heavy builds shortens a cold run.
if [ $# -eq 0 ]; then
  build_lane pulumi etcd kwok lint renovate-schema &
  lane_a=$!
  build_lane kubernetes-provider controlplane golangci-lint &
  lane_b=$!
  status=0
  wait "$lane_a" || status=1
  wait "$lane_b" || status=1
  [ "$status" -eq 0 ] || log "some tools failed to build; see the lines above"
  exit "$status"
fi
for tool in "$@"; do
  case " ${all_tools[*]} " in
    *" $tool "*) "build_$tool" ;;
    *) log "unknown tool '$tool' (known: ${all_tools[*]})"; exit 2 ;;
  esac
done
