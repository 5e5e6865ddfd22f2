#!/usr/bin/env bash
# The user's whole path beside Helm's, on the local control plane, in one run:
#   the program's build as `pulumi preview`/`up` does it on every run (time, peak
#   memory, binary size); whole-process preview, no-op up, fresh up and image bump with
#   the prebuilt driver; Helm 3.22 with the official Backstage chart 2.8.2
#   doing install, no-op upgrade, bump and --dry-run=server.
# Prints medians of RUNS (default 3) and a ratio table. Called by `make bench`.
#
# Helm's half needs the official chart unpacked in HELM_ANCHORS (default
# ../shared/anchors/helm: backstage/ and the values.yaml the comparison uses; see
# docs/performance.md). Without it, the program's half runs alone and says so.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-3}
anchors=${HELM_ANCHORS:-$repo/../shared/anchors/helm}
ns=backstage-bench
helm_ns=backstage-helm-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

with_helm=1
if [ ! -d "$anchors/backstage" ] || [ ! -f "$anchors/values.yaml" ]; then
  with_helm=
  echo "bench: no official chart in $anchors (backstage/ and values.yaml): Helm's half is left out;"
  echo "bench: set HELM_ANCHORS to a folder holding them to compare (docs/performance.md says how)"
fi

now() { date +%s.%N; }
# timed VAR CMD...: runs CMD quietly, appends its wall time to VAR's list.
declare -A samples
timed() {
  local key=$1 start
  shift
  start=$(now)
  "$@" >>"$work/log" 2>&1 || { echo "bench: '$*' failed; the log's tail:"; tail -20 "$work/log"; exit 1; }
  samples[$key]+="$(echo "$(now) - $start" | bc) "
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

fresh_namespace() {
  kubectl delete namespace "$1" --ignore-not-found --wait=true --timeout=120s >/dev/null
  for pv in $(kubectl get pv -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{end}'); do
    kubectl patch pv "$pv" --type=json -p='[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  done
}

echo "bench: building the program as the Go language host does (a fresh output each time)"
for i in $(seq "$runs"); do
  /usr/bin/time -f "%e %M" -o "$work/time" go -C "$repo" build -o "$work/program-$i" . 2>>"$work/log"
  read -r secs kb <"$work/time"
  samples[build]+="$secs "
  samples[build_mem]+="$((kb / 1024)) "
done
binary_mb=$(( $(stat -c %s "$work/program-1") / 1024 / 1024 ))

# The driver runs a copy of the local stack in a namespace of its own.
go -C "$repo" build -o "$work/stack" ./cmd/stack
mkdir "$work/project"
cp "$repo/Pulumi.yaml" "$work/project/"
# Like for like with the chart's values: the app tier and its database, no backups.
sed -e "/^config:/a\\  backstage:namespace: $ns" -e '/^  backstage:backup:/,/^  [a-z]/{/^  backstage:backup:/d;/^    /d}' \
  "$repo/Pulumi.local.yaml" >"$work/project/Pulumi.bench.yaml"
grep -q 'backstage:backup' "$work/project/Pulumi.bench.yaml" && { echo "bench: could not drop the backup key"; exit 1; }
export PULUMI_CONFIG_PASSPHRASE=local-control-plane
# Each CLI start stats every automatic log kept in $PULUMI_HOME/logs (seven days by
# default), so a home that ran the test suite all week starts every command 0.09 s
# later. A home of the bench's own is what a CI runner and an everyday user have.
user_logs=$(find "${PULUMI_HOME:-$HOME/.pulumi}/logs" -maxdepth 1 -name '*.log' 2>/dev/null | wc -l)
export PULUMI_HOME=$work/pulumi-home
stack() { (cd "$work/project" && "$work/stack" -s bench -state "$work/state" "$@"); }
set_image() { sed -i "s#^  backstage:image: .*#  backstage:image: ghcr.io/arhean/backstage:$1#" "$work/project/Pulumi.bench.yaml"; }

echo "bench: the program, $runs runs each"
for i in $(seq "$runs"); do
  fresh_namespace "$ns"
  set_image 1.0.0
  timed fresh stack up
  timed preview stack preview
  timed noop stack up
  set_image "1.0.$i"
  timed bump stack up
  stack destroy >>"$work/log" 2>&1
done
fresh_namespace "$ns"

if [ -n "$with_helm" ]; then
  echo "bench: Helm $(helm version --template '{{.Version}}'), the official chart, $runs runs each"
  chart=("$anchors/backstage" -n "$helm_ns" -f "$anchors/values.yaml")
  for i in $(seq "$runs"); do
    helm uninstall backstage -n "$helm_ns" --wait >/dev/null 2>&1 || true
    fresh_namespace "$helm_ns"
    kubectl create namespace "$helm_ns" >/dev/null
    timed helm_install helm install backstage "${chart[@]}" --wait
    timed helm_dry helm upgrade backstage "${chart[@]}" --dry-run=server
    timed helm_noop helm upgrade backstage "${chart[@]}" --wait
    timed helm_bump helm upgrade backstage "${chart[@]}" --set "backstage.image.tag=1.0.$i" --wait
  done
  helm uninstall backstage -n "$helm_ns" --wait >/dev/null 2>&1 || true
  fresh_namespace "$helm_ns"
fi

row() { # label ours helm target
  local ours helm_t
  ours=$(median "${samples[$2]}")
  if [ -z "$with_helm" ]; then
    printf '| %s | %.2f s | not run | | %s |\n' "$1" "$ours" "$4"
    return
  fi
  helm_t=$(median "${samples[$3]}")
  printf '| %s | %.2f s | %.2f s | %.2fx | %s |\n' "$1" "$ours" "$helm_t" "$(echo "$ours / $helm_t" | bc -l)" "$4"
}
echo
echo "medians of $runs, whole processes, on the local control plane ($(nproc) cores)"
echo
echo "| operation | program | Helm 3.22, chart 2.8.2 | ratio | target |"
echo "| --- | --- | --- | --- | --- |"
printf '| program build (every preview/up with runtime: go) | %.2f s, %s MiB peak, %s MiB binary | none | | <= 3 s, <= 1.5 GB, <= 80 MB |\n' \
  "$(median "${samples[build]}")" "$(median "${samples[build_mem]}")" "$binary_mb"
row "preview / upgrade --dry-run=server" preview helm_dry "<= 1.2x"
row "no-op up / no-op upgrade --wait" noop helm_noop "<= 1.2x"
row "fresh up to Ready / install --wait" fresh helm_install "< 1x"
row "image bump rolled out / upgrade --set tag --wait" bump helm_bump "< 1x"
echo
echo "The CLI ran in a Pulumi home of the bench's own. Yours keeps $user_logs automatic logs, and every"
echo "CLI start stats each of them: PULUMI_LOG_ROTATION_MAX_TOTAL_MB bounds how many stay."
