#!/usr/bin/env bash
# A local Kubernetes control plane on 127.0.0.1, with no Docker: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (one fake node that runs pods as
# bookkeeping only). Nothing listens beyond loopback and no pod traffic exists.
#
#   hack/cluster.sh up            start (a no-op when already running), wait until Ready
#   hack/cluster.sh down [--wipe] stop the processes this script started; --wipe drops the data
#   hack/cluster.sh status        say what runs
#   hack/cluster.sh kubeconfig    print the kubeconfig path
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${CLUSTER_DIR:-$repo/.cluster}
bin=$("$repo/tools/build.sh" --bin)
kubeconfig="$dir/kubeconfig"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
# Ports each component listens on, all on 127.0.0.1.
declare -A ports=(
  [etcd]="2379 2380" [kube-apiserver]="6443" [kube-controller-manager]="10257"
  [kube-scheduler]="10259" [kwok]="10247"
)
# Hand-made volumes for the database and backup claims (a major upgrade holds two
# database claims at once, and the real node's tests run beside the suite): there is
# no provisioner here.
volume_count=12
storage_class=local-manual

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=processes.sh
source "$repo/hack/processes.sh"

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The kubectl of the control plane's own release, built with it.
kubectl_() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

make_pki() {
  local pki=$dir/pki
  [ -f "$pki/.complete" ] && return
  log "generating the CA, serving certificate, service-account keys and admin token in $pki"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=local-control-plane-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' >"$pki/apiserver.ext"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  echo "$(openssl rand -hex 24),admin,admin,system:masters" >"$pki/tokens.csv"
  touch "$pki/.complete"
}

# make_kubelet_client_cert gives the API server a client certificate the real node's
# kubelet trusts (it takes the cluster CA as its client CA), for `kubectl logs`, `exec`
# and `port-forward`. A data folder made before it existed gets one on its next up.
make_kubelet_client_cert() {
  local pki=$dir/pki
  [ -f "$pki/kubelet-client.crt" ] && return
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
    -keyout "$pki/kubelet-client.key" -out "$pki/kubelet-client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$pki/kubelet-client.ext"
  openssl x509 -req -in "$pki/kubelet-client.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$pki/kubelet-client.ext" -out "$pki/kubelet-client.crt" 2>/dev/null
}

write_kubeconfig() {
  local token
  token=$(cut -d, -f1 "$dir/pki/tokens.csv")
  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: $dir/pki/ca.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
EOF
  chmod 600 "$kubeconfig"
}

start() { # name args...
  local name=$1
  shift
  pid_alive "$name" && return
  for port in ${ports[$name]}; do
    port_taken "$port" && die "port 127.0.0.1:$port, which $name needs, is taken by another process; stop it (or run 'make cluster-down') and retry"
  done
  run_component "$name" "$bin/$name" "$@"
}

apply_fixtures() {
  # One fake node, picked up by kwok through its annotation, with room for the stacks.
  {
    cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 100Gi}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $storage_class
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
# A claim's spec may grow (nothing resizes these volumes): the program's resize of the
# database claim is checked here as the API server admits it.
allowVolumeExpansion: true
volumeBindingMode: Immediate
EOF
    local i
    for i in $(seq 0 $((volume_count - 1))); do
      mkdir -p "$dir/volumes/pv-$i"
      cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: local-pv-$i
spec:
  capacity: {storage: 16Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $storage_class
  hostPath: {path: $dir/volumes/pv-$i}
EOF
    done
  } | kubectl_ apply -f - >/dev/null
}

# already_up: every component still runs since an up that finished (its mark), and the
# API server is ready. `make preview` and `make up` call up every time, and the full
# path's fixtures and waits took 2 s of kubectl calls.
already_up() {
  [ -f "$dir/pids/ready" ] || return 1
  local name
  for name in "${components[@]}"; do pid_alive "$name" || return 1; done
  kubectl_ get --raw /readyz --request-timeout 5s >/dev/null 2>&1
}

ready() {
  log "ready: API server https://127.0.0.1:6443, logs in $dir/logs"
  echo "export KUBECONFIG=$kubeconfig"
}

up() {
  if already_up; then
    ready
    return
  fi
  rm -f "$dir/pids/ready"
  if [ ! -x "$bin/kubectl" ] || [ ! -x "$bin/kube-apiserver" ]; then "$repo/tools/build.sh" etcd controlplane kwok; fi
  mkdir -p "$dir/logs" "$dir/pids" "$dir/etcd"
  make_pki
  make_kubelet_client_cert
  write_kubeconfig
  local pki=$dir/pki
  start etcd --name local --data-dir "$dir/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster local=http://127.0.0.1:2380 --listen-metrics-urls "" --log-level warn
  wait_for etcd 30 bash -c '(exec 3<>/dev/tcp/127.0.0.1/2379)'
  start kube-apiserver --etcd-servers http://127.0.0.1:2379 \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 6443 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 10.0.0.0/24 --authorization-mode Node,RBAC \
    --kubelet-client-certificate "$pki/kubelet-client.crt" --kubelet-client-key "$pki/kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --enable-priority-and-fairness=false --profiling=false
  wait_for kube-apiserver 120 kubectl_ get --raw /readyz
  start kube-controller-manager --kubeconfig "$kubeconfig" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 10257 \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller' \
    --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 --concurrent-statefulset-syncs 10
  start kube-scheduler --kubeconfig "$kubeconfig" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 10259
  start kwok --kubeconfig "$kubeconfig" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --config "$bin/kwok-stages.yaml" --server-address 127.0.0.1:10247
  apply_fixtures
  wait_for "the fake node" 60 bash -c "'$bin/kubectl' --kubeconfig '$kubeconfig' get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  # The node is created with the not-ready taint; the node lifecycle controller lifts it
  # once kwok reports the node Ready, and only then do pods schedule.
  wait_for "the fake node's not-ready taint to be lifted" 60 bash -c "[ -z \"\$('$bin/kubectl' --kubeconfig '$kubeconfig' get node kwok-node-0 -o jsonpath='{.spec.taints}')\" ]"
  wait_for "the default ServiceAccount" 60 kubectl_ get serviceaccount default -n default
  touch "$dir/pids/ready"
  ready
}

down() {
  rm -f "$dir/pids/ready"
  stop_components
  if [ "${1:-}" = "--wipe" ]; then
    rm -rf "$dir"
    log "wiped $dir"
  fi
}

status() { print_status; }

case "${1:-up}" in
  up) up ;;
  down) down "${2:-}" ;;
  status) status ;;
  kubeconfig) echo "$kubeconfig" ;;
  *) die "usage: $0 up|down [--wipe]|status|kubeconfig" ;;
esac
