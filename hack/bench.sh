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
  # The compile half alone (every package's export data, from the build cache); the
  # rest of a fresh build is the link.
  timed compile go -C "$repo" list -export -deps . 
  # With Pulumi.yaml's buildTarget: the same output again, which Go does not relink.
  timed rebuild go -C "$repo" build -o "$work/program-1" .
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

# The user's own path: `pulumi preview` and a no-op `pulumi up` through the Go language
# host with Pulumi.yaml's buildTarget, beside a Pulumi Go program with no resources built
# the same way, with plugin acquisition off (a user's machine has its plugins already;
# this one cannot download random and tls, and the CLI would retry for 2.4 s a run).
official=
if command -v pulumi-language-go >/dev/null; then
  official=1
  echo "bench: the official path (pulumi-language-go at $(command -v pulumi-language-go)), $runs runs each"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_BACKEND_URL="file://$work/state" PULUMI_SKIP_UPDATE_CHECK=true
  # A copy of the program, so that the edit check below never touches the repository.
  mkdir "$work/official"
  git -C "$repo" ls-files -z -- go.mod go.sum main.go program components config internal | \
    (cd "$repo" && xargs -0 cp --parents -t "$work/official")
  cp "$repo/Pulumi.yaml" "$work/official/"
  mkdir "$work/noresource"
  cat >"$work/noresource/main.go" <<'GO'
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() { pulumi.Run(func(*pulumi.Context) error { return nil }) }
GO
  sdk=$(go -C "$repo" list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)
  printf 'module noresource\n\ngo 1.26\n\nrequire github.com/pulumi/pulumi/sdk/v3 %s\n' "$sdk" >"$work/noresource/go.mod"
  cp "$repo/go.sum" "$work/noresource/"
  (cd "$work/noresource" && go mod tidy >>"$work/log" 2>&1)
  printf 'name: noresource\nruntime:\n  name: go\n  options:\n    buildTarget: bin/pulumi-program\n' >"$work/noresource/Pulumi.yaml"
  (cd "$work/noresource" && pulumi stack init organization/noresource/dev --secrets-provider passphrase >>"$work/log" 2>&1)
  # The deployed local stack, as the driver left it, under the official CLI.
  stack up >>"$work/log" 2>&1
  cp "$work/project/Pulumi.bench.yaml" "$work/official/"
  in_official() { (cd "$work/official" && pulumi "$@" -s organization/backstage/bench --non-interactive); }
  in_noresource() { (cd "$work/noresource" && pulumi "$@" -s organization/noresource/dev --non-interactive); }
  # The first run of each builds its target; the timed runs find it current.
  in_official preview >>"$work/log" 2>&1
  in_noresource up --yes --skip-preview >>"$work/log" 2>&1
  for i in $(seq "$runs"); do
    timed official_preview in_official preview --expect-no-changes
    timed official_noop in_official up --yes --skip-preview
    timed empty_preview in_noresource preview
    timed empty_noop in_noresource up --yes --skip-preview
  done
  # An edit of a component takes effect on the next preview: Go rebuilds the target.
  sed -i 's/RevisionHistoryLimit: ptr.To\[int32\](5)/RevisionHistoryLimit: ptr.To[int32](6)/' "$work/official/components/backstage/backstage_objects.go"
  edited=$(in_official preview 2>&1 || true)
  grep -q '1 to update' <<<"$edited" || { echo "bench: the preview after a component edit did not show the update; its output:"; echo "$edited" | tail -20; exit 1; }
  echo "bench: a component edit showed on the next preview (1 to update)"
  unset PULUMI_BACKEND_URL
  stack destroy >>"$work/log" 2>&1
  fresh_namespace "$ns"
else
  echo "bench: no pulumi-language-go on PATH: the official path (pulumi preview with runtime: go) is left out;"
  echo "bench: docs/testing.md says how to build one from Pulumi's source"
fi

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
printf '| of which compiling (cached) / linking | %.2f s / %.2f s | | | |\n' "$(median "${samples[compile]}")" \
  "$(echo "$(median "${samples[build]}") - $(median "${samples[compile]}")" | bc -l)"
printf '| the same build again (buildTarget: no relink) | %.2f s | | | |\n' "$(median "${samples[rebuild]}")"
row "preview / upgrade --dry-run=server" preview helm_dry "<= 1.2x"
row "no-op up / no-op upgrade --wait" noop helm_noop "<= 1.2x"
row "fresh up to Ready / install --wait" fresh helm_install "< 1x"
row "image bump rolled out / upgrade --set tag --wait" bump helm_bump "< 1x"
if [ -n "$official" ]; then
  echo
  echo "The official path: pulumi-language-go with buildTarget, plugin acquisition off"
  echo
  echo "| operation | program | no-resource Go program | ratio | target |"
  echo "| --- | --- | --- | --- | --- |"
  for op in preview noop; do
    ours=$(median "${samples[official_$op]}")
    empty=$(median "${samples[empty_$op]}")
    label="pulumi preview (unchanged)"
    target="<= 1.6x, about 1 s"
    [ "$op" = noop ] && { label="pulumi up --skip-preview (no-op)"; target=""; }
    printf '| %s | %.2f s | %.2f s | %.2fx | %s |\n' "$label" "$ours" "$empty" "$(echo "$ours / $empty" | bc -l)" "$target"
  done
fi
echo
echo "The CLI ran in a Pulumi home of the bench's own. Yours keeps $user_logs automatic logs, and every"
echo "CLI start stats each of them: PULUMI_LOG_ROTATION_MAX_TOTAL_MB bounds how many stay."
