#!/usr/bin/env bash
# hack/realnode.sh up|down|status: one real node beside the local control plane
# (hack/cluster.sh); `check` says whether this machine can run one, `layers` and
# `prepare` build what it needs without starting it: containerd and runc from Debian, the kubelet and kube-proxy
# (nftables) of the control plane's release, a CNI bridge, kube-network-policies
# enforcing NetworkPolicies, CoreDNS as a host process, and a local registry that
# containerd uses as its mirror, holding images built from Debian packages and npm
# (hack/realnode/images.sh), and an S3-compatible server, versitygw, on the node's address
# for the realnode stack's backups (objects.realnode.test through CoreDNS, TLS from a CA
# of its own that the stack's pgBackRest image trusts). kwok's fake node stays: the real node is tainted
# realnode=true:NoSchedule, so only pods that tolerate it and select it (the realnode
# stack's) run here. Root only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cluster=$repo/.cluster
dir=$cluster/node
kubeconfig=$cluster/kubeconfig
bin=$("$repo/tools/build.sh" --bin)
node=realnode-0
# The host's own address (the kubelet refuses a loopback one); CoreDNS listens there too.
node_ip=$(ip -4 route get 1.0.0.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
pod_cidr=10.244.0.0/24
registry=127.0.0.1:5000
# The object store the realnode stack names (Pulumi.realnode.yaml: backup.objectStore),
# read from the stack's file so that the store runs where the stack looks: its name and
# port (endpoint), its bucket, the stack's namespace and the Secret with the store's keys
# (credentialsSecret). $store keeps its CA, keys and buckets.
stack_field() { # stack_field KEY: the first `KEY: value` in the stack's file, unquoted
  sed -n "s/^ *$1: *\"\{0,1\}\([^\" ]*\)\"\{0,1\} *\$/\1/p" "$repo/Pulumi.realnode.yaml" | head -1
}
store_endpoint=$(stack_field endpoint)
store_host=${store_endpoint%:*}
store_port=443
[[ $store_endpoint != *:* ]] || store_port=${store_endpoint##*:}
store_bucket=$(stack_field bucket)
stack_namespace=$(stack_field backstage:namespace)
store_secret=$(stack_field credentialsSecret)
store=$dir/objectstore
# shellcheck disable=SC2034 # read by processes.sh
components=(registry containerd coredns objectstore kubelet kube-proxy netpol)

log() { printf 'realnode: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
if [ -z "$store_host" ] || [ -z "$store_bucket" ] || [ -z "$stack_namespace" ] || [ -z "$store_secret" ]; then
  die "Pulumi.realnode.yaml names no backstage:namespace, or no backup.objectStore endpoint, bucket and credentialsSecret: the node's object store serves what the stack names"
fi
kubectl_() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }
# shellcheck source=processes.sh
source "$repo/hack/processes.sh"

# can_run says whether this machine can run a node, and why not: root, Debian's apt for
# the packages, and a default route for the node's address.
can_run() {
  [ "$(id -u)" = 0 ] || { log "cannot run here: needs root (containerd, the kubelet and the pod network)"; return 1; }
  command -v apt-get >/dev/null || { log "cannot run here: needs Debian's apt for containerd, runc and debootstrap"; return 1; }
  [ -n "$node_ip" ] || { log "cannot run here: this machine has no default route, so no address for the node"; return 1; }
}

# packages installs what the node runs on from Debian, where hack/system-packages.sh
# may (CI, or SYSTEM_PACKAGES=1); elsewhere it says how, and the node is not started.
packages() {
  "$repo/hack/system-packages.sh" "the real node" containerd runc containernetworking-plugins iptables nftables conntrack debootstrap
}

# write_config FILE: writes standard input to FILE only when it differs, so that a
# running node's components (kube-proxy exits when its config file changes) keep going.
write_config() {
  cat >"$1.new"
  if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mv "$1.new" "$1"; fi
}

configure() {
  mkdir -p "$dir"/{containerd/root,containerd/state,cni/net.d,cni/ipam,kubelet,registry}
  write_config "$dir/containerd/config.toml" <<TOML
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$dir/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # Root here may not lower oom_score_adj; runc fails every sandbox without this.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
  # Every image comes from the local registry, so imagePullPolicy: Always works offline.
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://$registry"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.k8s.io"]
    endpoint = ["http://$registry"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."ghcr.io"]
    endpoint = ["http://$registry"]
TOML
  write_config "$dir/cni/net.d/10-bridge.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "realnode", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "isDefaultGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "subnet": "$pod_cidr", "dataDir": "$dir/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
  write_config "$dir/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$dir/containerd/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $cluster/pki/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$node_ip]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# Local images are never collected.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
failSwapOn: false
podCIDR: $pod_cidr
# Only pods that tolerate this run here; everything else stays on kwok's node.
registerWithTaints: [{key: realnode, value: "true", effect: NoSchedule}]
YAML
  write_config "$dir/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
hostnameOverride: $node
clusterCIDR: $pod_cidr
detectLocalMode: ClusterCIDR
clientConnection: {kubeconfig: $kubeconfig}
# This machine's root may not write the conntrack sysctls.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
YAML
  write_config "$dir/Corefile" <<CORE
.:53 {
  bind $node_ip
  errors
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $kubeconfig
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  hosts {
    $node_ip $store_host
    fallthrough
  }
  forward . /etc/resolv.conf
  cache 5
}
CORE
}

# store_prepare builds versitygw (tools/versitygw, the version the object-store tests
# run), and makes the store's CA, its certificate for $store_host and its keys once: the
# pgBackRest image carries the CA, so they outlive a down (a wipe of .cluster makes new ones).
store_prepare() {
  "$repo/tools/build.sh" objectstore >&2
  mkdir -p "$store/root/$store_bucket"
  if [ ! -f "$store/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=realnode object store CA" \
      -keyout "$store/ca-key.pem" -out "$store/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$store_host" -keyout "$store/key.pem" -out "$store/cert.csr" 2>/dev/null
    openssl x509 -req -in "$store/cert.csr" -CA "$store/ca.pem" -CAkey "$store/ca-key.pem" -CAcreateserial -days 3650 \
      -extfile <(printf 'subjectAltName=DNS:%s\n' "$store_host") -out "$store/cert.pem" 2>/dev/null
    rm -f "$store/cert.csr"
  fi
  if [ ! -f "$store/credentials" ]; then
    (umask 077 && printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' \
      "realnode-$(openssl rand -hex 4)" "$(openssl rand -hex 20)" >"$store/credentials")
  fi
}

# make_store_secret makes the Secret with the store's keys in the realnode stack's namespace,
# as a platform's secret store would before the stack runs (the tests make it again
# after they reset the namespace).
make_store_secret() {
  kubectl_ get namespace "$stack_namespace" >/dev/null 2>&1 || kubectl_ create namespace "$stack_namespace" >/dev/null
  kubectl_ create secret generic "$store_secret" -n "$stack_namespace" --from-env-file "$store/credentials" \
    --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
}

# layers installs the packages and builds the images' root filesystems: minutes on a
# cold machine, and neither the control plane nor a Go tool is needed for it.
layers() {
  can_run || exit 1
  mkdir -p "$dir/logs"
  packages
  "$repo/hack/realnode/images.sh" --layers
}

# prepare does what takes long on a cold machine and needs no node: the packages, the
# binaries, the registry and its images (all cached by version).
prepare() {
  [ -f "$kubeconfig" ] || die "the local control plane is not up: run hack/cluster.sh up first"
  layers
  mkdir -p "$dir/pids"
  "$repo/tools/build.sh" node >&2
  configure
  store_prepare
  run_component registry "$bin/crane" registry serve --address "$registry" --disk "$dir/registry"
  wait_for "the registry" 30 bash -c "(exec 3<>/dev/tcp/127.0.0.1/${registry##*:})"
  REALNODE_STORE_CA=$store/ca.pem "$repo/hack/realnode/images.sh" "$registry" 2>&1 | { grep -v '^[0-9/]* [0-9:]* ' || true; } >&2
}

up() {
  prepare
  [ -f "$dir/ip_forward.saved" ] || cat /proc/sys/net/ipv4/ip_forward >"$dir/ip_forward.saved"
  run_component containerd containerd --config "$dir/containerd/config.toml"
  wait_for containerd 30 ctr --address "$dir/containerd/containerd.sock" version
  run_component coredns "$bin/coredns" -conf "$dir/Corefile"
  # The keys as variables, not flags: a command line is readable by every user.
  run_component objectstore env \
    ROOT_ACCESS_KEY_ID="$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$store/credentials")" \
    ROOT_SECRET_ACCESS_KEY="$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$store/credentials")" \
    "$bin/versitygw" --port "$node_ip:$store_port" \
    --cert "$store/cert.pem" --key "$store/key.pem" posix "$store/root"
  wait_for objectstore 30 bash -c "(exec 3<>/dev/tcp/$node_ip/$store_port)"
  run_component kubelet "$bin/kubelet" --config "$dir/kubelet/config.yaml" --kubeconfig "$kubeconfig" \
    --root-dir "$dir/kubelet/root" --hostname-override "$node" --node-ip "$node_ip" --v=1
  wait_for "the node" 120 bash -c "'$bin/kubectl' --kubeconfig '$kubeconfig' get node $node -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  run_component kube-proxy "$bin/kube-proxy" --config "$dir/kube-proxy.yaml" --v=1
  wait_for kube-proxy 60 bash -c "nft list table ip kube-proxy >/dev/null 2>&1"
  # kube-network-policies queues pod traffic to itself and judges it by the policies.
  run_component netpol env KUBECONFIG="$kubeconfig" "$bin/kube-network-policies" --hostname-override "$node" \
    --disable-nri --netfilter-bug-1766-fix=false --metrics-bind-address 127.0.0.1:9080 --v=1
  wait_for "kube-network-policies" 60 bash -c "nft list table inet kube-network-policies >/dev/null 2>&1"
  # The database volumes hold PostgreSQL's data as its user, 999; hostPath volumes
  # ignore fsGroup.
  chown 999:999 "$cluster"/volumes/pv-* 2>/dev/null || true
  make_store_secret
  log "ready: node $node ($node_ip, tainted realnode=true:NoSchedule), pods on $pod_cidr, Services through kube-proxy (nftables), NetworkPolicies enforced, DNS at $node_ip, registry at $registry, object store at https://$store_host:$store_port (bucket $store_bucket)"
}

down() {
  if [ -S "$dir/containerd/containerd.sock" ] && pid_alive containerd; then
    # Kill every container first, so that nothing holds the mounts and the bridge.
    for ns in $(ctr --address "$dir/containerd/containerd.sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$dir/containerd/containerd.sock" -n k8s.io tasks kill -s SIGKILL "$ns" >/dev/null 2>&1 || true
    done
  fi
  stop_components
  # Only the shims of this containerd: their command lines name its socket.
  pkill -f "containerd-shim-runc-v2 .*-address $dir/containerd/containerd.sock" 2>/dev/null || true
  for m in $(awk -v d="$dir" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r) $(awk '$2 ~ "^/run/netns/" {print $2}' /proc/mounts); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  ip link del cni0 2>/dev/null || true
  # The bridge plugin's masquerade chains of pods whose sandboxes were killed rather
  # than torn down by CNI: only the chains our network's rules jump to.
  local rule chain
  iptables -t nat -S POSTROUTING 2>/dev/null | grep -F 'name: \"realnode\"' | while read -r rule; do
    chain=$(sed -n 's/.* -j \(CNI-[0-9a-f]*\).*/\1/p' <<<"$rule")
    eval "iptables -t nat ${rule/-A/-D}"
    [ -n "$chain" ] && iptables -t nat -F "$chain" && iptables -t nat -X "$chain"
  done || true
  for table in "ip kube-proxy" "ip6 kube-proxy" "inet kube-network-policies" "inet kube-network-policies-dnscache"; do
    # shellcheck disable=SC2086 # "family name", split on purpose
    nft delete table $table 2>/dev/null || true
  done
  [ -f "$dir/ip_forward.saved" ] && cat "$dir/ip_forward.saved" >/proc/sys/net/ipv4/ip_forward && rm -f "$dir/ip_forward.saved"
  rm -rf /var/lib/kubelet/device-plugins /var/log/containers /var/log/pods "$dir/cni/ipam"
  if [ -f "$kubeconfig" ]; then
    kubectl_ delete node "$node" --ignore-not-found >/dev/null 2>&1 || true
  fi
  log "down"
}

status() { print_status; }

case "${1:-up}" in
  up) up ;;
  prepare) prepare ;;
  layers) layers ;;
  down) down ;;
  status) status ;;
  check) can_run && packages ;;
  *) die "usage: hack/realnode.sh up|prepare|layers|down|status|check" ;;
esac
