#!/usr/bin/env bash
# Pins the Kubernetes provider that tools/build.sh builds to the release of the
# pulumi-kubernetes SDK in go.mod. The provider module is untagged, so its version is a
# pseudo-version of the commit tagged v<release>: resolved here with git ls-remote and
# `go list`, which need GitHub and a module proxy that serves arbitrary commits.
set -euo pipefail
cd "$(dirname "$0")/.."
sdk=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi-kubernetes/sdk/v4)
release=${sdk#v}
# An annotated tag's own line names the tag object; its peeled ^{} line names the commit.
refs=$(git ls-remote https://github.com/pulumi/pulumi-kubernetes "refs/tags/v$release" "refs/tags/v$release^{}")
commit=$(printf '%s\n' "$refs" | awk '$2 ~ /\^\{\}$/ {print $1}')
[ -n "$commit" ] || commit=$(printf '%s\n' "$refs" | awk 'NR == 1 {print $1}')
[ -n "$commit" ] || { echo "bump-provider: no tag v$release in pulumi/pulumi-kubernetes" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && go mod init bump >/dev/null 2>&1)
pseudo=$(cd "$tmp" && go list -m -f '{{.Version}}' "github.com/pulumi/pulumi-kubernetes/provider/v4@$commit")
sed -i \
  -e "s/^KUBERNETES_PROVIDER_PSEUDO_VERSION=.*/KUBERNETES_PROVIDER_PSEUDO_VERSION=$pseudo/" \
  -e "s/^KUBERNETES_PROVIDER_VERSION=.*/KUBERNETES_PROVIDER_VERSION=$release/" \
  tools/versions.env
echo "tools/versions.env: provider $release = $pseudo (commit $commit); commit it with the SDK bump"
