#!/usr/bin/env bash
# hack/charts.sh [DIR]: the security layer's charts at the program's pins, unpacked from
# their Go modules into DIR (default .charts, git-ignored), for clusters and machines
# that reach the Go module proxy but no chart repository (this project's test machines;
# an air-gapped mirror of the proxy). The local-edge stack and the end-to-end tests
# install them from there (certManagerChartPath, envoyGatewayChartPath,
# ingressNginxChartPath).
#
# The repositories keep their charts with placeholder versions that their release
# fills in; this stamps the pinned version, and gives Envoy Gateway's chart the values
# file its release renders from values.tmpl.yaml (the controller's image).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/.charts}
# shellcheck source=pins.sh
source "$repo/hack/pins.sh"
cert_manager=$(pin CertManagerChartVersion)
envoy_gateway=$(pin EnvoyGatewayChartVersion)

# module_dir MODULE@VERSION: where the module proxy's copy was unpacked.
module_dir() {
  (cd "$(mktemp -d)" && go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
# unpack SRC NAME VERSION: a writable copy of a chart with its version stamped.
unpack() {
  local dst=$out/$2
  [ -d "$dst" ] && chmod -R u+w "$dst" && rm -rf "$dst"
  mkdir -p "$out"
  cp -r --no-preserve=mode "$1" "$dst"
  sed -i -E "s/^(version|appVersion): \"?v?0\.0\.0[^\"]*\"?$/\1: $3/; s/^appVersion: \"?latest\"?$/appVersion: $3/" "$dst/Chart.yaml"
  grep -q "^version: $3$" "$dst/Chart.yaml" || { echo "charts: could not stamp $2's Chart.yaml with $3" >&2; exit 1; }
}

src=$(module_dir "github.com/cert-manager/cert-manager@$cert_manager")
unpack "$src/deploy/charts/cert-manager" cert-manager "$cert_manager"

src=$(module_dir "github.com/envoyproxy/gateway@$envoy_gateway")
unpack "$src/charts/gateway-helm" envoy-gateway "$envoy_gateway"
placeholder="\${"
sed -e "s#${placeholder}GatewayImage}#docker.io/envoyproxy/gateway:$envoy_gateway#" -e "s#${placeholder}GatewayImagePullPolicy}#IfNotPresent#" \
  "$out/envoy-gateway/values.tmpl.yaml" >"$out/envoy-gateway/values.yaml"
if grep -qF "$placeholder" "$out/envoy-gateway/values.yaml"; then
  echo "charts: Envoy Gateway's values.tmpl.yaml has a placeholder this script does not fill" >&2
  exit 1
fi

# ingress-nginx is retired and none of its later charts is in a Go module: the newest
# one the module proxy serves is 4.11.0, in the repository at this pseudo-version. The
# program pins 4.15.1 from its repository; this one installs its own version, for the
# tests of a move from ingress-nginx (ingressNginxChartPath).
src=$(module_dir "k8s.io/ingress-nginx@v0.0.0-20240708192948-52c50467d67d")
cp -r --no-preserve=mode "$src/charts/ingress-nginx" "$out/.ingress-nginx.new"
rm -rf "$out/ingress-nginx" && mv "$out/.ingress-nginx.new" "$out/ingress-nginx"
echo "charts: cert-manager $cert_manager, Envoy Gateway $envoy_gateway and ingress-nginx $(sed -n 's/^version: //p' "$out/ingress-nginx/Chart.yaml") in $out"
