#!/usr/bin/env bash
# hack/realnode/images.sh REGISTRY: builds the real node's images without Docker and
# pushes them to the local registry containerd mirrors docker.io, registry.k8s.io and
# ghcr.io from, under the names the program uses. Each root filesystem is cached by what
# makes it: its builder function, its inputs and its packages (an older build of the
# same image is removed).
#   registry.k8s.io/pause:3.10  pause.c from the Kubernetes module, compiled statically
#   busybox:<the init image's>  Debian's busybox, libc and netcat-openbsd (apt-get
#                               download, dpkg -x)
#   postgres:<15's pinned tag>  Debian bookworm's PostgreSQL 15 and trixie's 17
#   postgres:<17's pinned tag>  (debootstrap), with an entrypoint that keeps the
#                               official image's contract (postgres-entrypoint.sh)
#   ghcr.io/arhean/backstage-postgres-pgbackrest:<15's tag>-<pgBackRest's pin>
#                               PostgreSQL 15's above (it carries Debian's pgbackrest)
#                               and the realnode object store's CA
#   postgres:<18's pinned tag>  17's above: an external database's dumps run the newest
#                               pinned major's pg_dump, and Debian has no 18
#   rclone/rclone:<its pin>     tools/rclone's rclone (the pin's version, static), at
#                               /usr/local/bin as upstream's, on busybox
#   ghcr.io/arhean/backstage:realnode-1, realnode-2
#                               a real Backstage backend from npm (hack/realnode/backstage)
set -euo pipefail

registry=${1:?usage: images.sh REGISTRY|--layers}
# --layers builds the root filesystems only (debootstrap, npm: minutes on a cold
# machine, no Go tool needed), so that make test can run it beside the toolchain's build.
layers_only=
[ "$registry" = --layers ] && layers_only=1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$("$repo/tools/build.sh" --bin)
cache=${BACKSTAGE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backstage-pulumi/tools}/realnode-images
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
crane() { "$bin/crane" --insecure "$@"; }
log() { printf 'images: %s\n' "$*" >&2; }
mkdir -p "$cache"

pushed() { crane digest "$registry/$1" >/dev/null 2>&1; }

# pause
if [ -z "$layers_only" ] && ! pushed pause:3.10; then
  src=$(cd "$repo/tools/node" && go mod download -json k8s.io/kubernetes | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  work=$(mktemp -d)
  mkdir -p "$work/root"
  gcc -Os -static -o "$work/root/pause" "$src/build/pause/linux/pause.c"
  tar -C "$work/root" -cf "$work/layer.tar" pause
  crane append -f "$work/layer.tar" -t "$registry/pause:3.10" >/dev/null
  crane mutate --entrypoint /pause -t "$registry/pause:3.10" "$registry/pause:3.10" >/dev/null
  rm -rf "$work"
  log "pushed pause:3.10"
fi

# busybox: Debian's dynamically linked busybox with its libc (the static build's name
# lookups crash), every applet linked, as the program's init image and the tests' client
# pods. Debian builds busybox's small nc, without -z; the official image's nc has it,
# so nc is netcat-openbsd's. Cached by the packages' versions.
build_busybox() {
  local ref=$registry/library/${1%%:*}:${1#*:} versions layer work
  local packages=(busybox libc6 netcat-openbsd libbsd0 libmd0)
  versions=$(apt-cache policy "${packages[@]}" | awk '/Candidate/ {print $2}')
  layer=$cache/busybox-$({ echo "$versions"; declare -f build_busybox; } | sha256sum | cut -c1-12).tar.gz
  if [ ! -f "$layer" ]; then
    rm -f "$cache"/busybox-*.tar.gz
    work=$(mktemp -d)
    (cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1) || { log "apt-get download ${packages[*]} failed"; return 1; }
    mkdir -p "$work/root"
    for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
    chroot "$work/root" /bin/busybox --install -s /bin
    ln -sfn nc.openbsd "$work/root/bin/nc"
    mkdir -p "$work/root/tmp" && chmod 1777 "$work/root/tmp"
    rm -rf "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/locale"
    tar -C "$work/root" --numeric-owner -czf "$layer.tmp" . && mv "$layer.tmp" "$layer"
    rm -rf "$work"
  fi
  [ -z "$layers_only" ] || return 0
  if ! crane config "$ref" 2>/dev/null | grep -q "$(basename "$layer")"; then
    crane append -f "$layer" -t "$ref" >/dev/null
    crane mutate -t "$ref" "$ref" --cmd sh --env PATH=/bin:/usr/bin:/sbin:/usr/sbin \
      --label "realnode.layer=$(basename "$layer")" >/dev/null
    log "pushed $1 (Debian's busybox $(apt-cache policy busybox | awk '/Candidate/ {print $2}'))"
  fi
}

# build_postgres MAJOR SUITE TAG: Debian's PostgreSQL MAJOR from SUITE, pushed as the
# official image's TAG that the program pins for that major.
build_postgres() {
  local major=$1 suite=$2 tag=$3
  local entrypoint=$repo/hack/realnode/postgres-entrypoint.sh
  local key
  key=$({ declare -f build_postgres; cat "$entrypoint"; } | sha256sum | cut -c1-12)
  local layer=$cache/postgres-$major-$suite-$key.tar.gz ref=$registry/library/postgres:$tag
  if [ ! -f "$layer" ]; then
    rm -f "$cache/postgres-$major-"*.tar.gz
    log "building PostgreSQL $major's root filesystem with debootstrap ($suite, from $mirror; about a minute)"
    local root
    root=$(mktemp -d)
    debootstrap --variant=minbase --include="postgresql-$major,pgbackrest" "$suite" "$root" "$mirror" >"$cache/debootstrap-$major.log" 2>&1 ||
      { tail -20 "$cache/debootstrap-$major.log" >&2; return 1; }
    # As the official image: user and group postgres are 999, no cluster of Debian's own.
    # What the packages gave the user Debian chose stays theirs (pgBackRest's config is
    # root:postgres 0640).
    local uid gid
    uid=$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/passwd")
    gid=$(awk -F: '$1 == "postgres" {print $3}' "$root/etc/group")
    sed -i 's/^postgres:x:[0-9]*:[0-9]*:/postgres:x:999:999:/' "$root/etc/passwd"
    sed -i 's/^postgres:x:[0-9]*:/postgres:x:999:/' "$root/etc/group"
    find "$root" -xdev -uid "$uid" -exec chown -h 999 {} +
    find "$root" -xdev -gid "$gid" -exec chgrp -h 999 {} +
    rm -rf "$root/var/lib/postgresql/$major" "$root/etc/postgresql/$major"
    install -d -m 3777 -o 999 -g 999 "$root/var/run/postgresql"
    install -d -o 999 -g 999 "$root/var/lib/postgresql/data" "$root/docker-entrypoint-initdb.d"
    install -m 0755 "$entrypoint" "$root/usr/local/bin/docker-entrypoint.sh"
    rm -rf "$root/var/cache/apt/archives"/*.deb "$root/usr/share/doc" "$root/usr/share/man"
    tar -C "$root" --numeric-owner -czf "$layer.tmp" .
    mv "$layer.tmp" "$layer"
    rm -rf "$root"
  fi
  [ -z "$layers_only" ] || return 0
  if ! pushed "library/postgres:$tag" || ! crane config "$ref" | grep -q "layer-$key"; then
    crane append -f "$layer" -t "$ref" >/dev/null
    crane mutate -t "$ref" "$ref" \
      --entrypoint /usr/local/bin/docker-entrypoint.sh --cmd postgres \
      --env "PATH=/usr/lib/postgresql/$major/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      --env LANG=C.UTF-8 --env PGDATA=/var/lib/postgresql/data \
      --label "realnode.layer=layer-$key" >/dev/null
    log "pushed postgres:$tag (Debian's postgresql-$major $(tar -xzOf "$layer" ./var/lib/dpkg/status |
      awk -v p="postgresql-$major" '$0 == "Package: " p {f=1} f && /^Version:/ {print $2; exit}'))"
  fi
}

# build_pgbackrest MAJOR TAG: the realnode stack's server image when its backups go to the
# object store beside the node: PostgreSQL MAJOR's root filesystem above (with Debian's
# pgBackRest, 2.45 in bookworm, not PGDG's that the published image pins) and a layer
# whose only trusted CA is the store's ($REALNODE_STORE_CA), pushed under the name the
# program pins for MAJOR (pins.PgBackRestImage), so the stack needs no caBundle.
build_pgbackrest() {
  local major=$1 tag=$2 ca=${REALNODE_STORE_CA:-}
  [ -z "$layers_only" ] && [ -n "$ca" ] || return 0
  local base ref=$registry/arhean/backstage-postgres-pgbackrest:$tag key work
  base=$registry/library/postgres:$(pinned "$major")
  key=$({ crane digest "$base"; cat "$ca"; declare -f build_pgbackrest; } | sha256sum | cut -c1-12)
  if crane config "$ref" 2>/dev/null | grep -q "pgbackrest-$key"; then return 0; fi
  work=$(mktemp -d)
  mkdir -p "$work/root/etc/ssl/certs"
  install -m 0644 "$ca" "$work/root/etc/ssl/certs/ca-certificates.crt"
  ln -s ca-certificates.crt "$work/root/etc/ssl/certs/$(openssl x509 -hash -noout -in "$ca").0"
  tar -C "$work/root" --numeric-owner --owner=0 --group=0 -cf "$work/ca.tar" .
  crane append -b "$base" -f "$work/ca.tar" -t "$ref" >/dev/null
  crane mutate -t "$ref" "$ref" --label "realnode.layer=pgbackrest-$key" >/dev/null
  rm -rf "$work"
  log "pushed ghcr.io/arhean/backstage-postgres-pgbackrest:$tag (postgres:$(pinned "$major") with Debian's pgbackrest and the object store's CA)"
}

# build_rclone TAG: upstream's image is Alpine with rclone's static binary at
# /usr/local/bin/rclone, which the dump Jobs' init container copies; here it is the
# rclone tools/build.sh builds (tools/rclone, at the image's tag: static, as the
# object-store tests run it), laid on the busybox image above, for its cp.
build_rclone() {
  local tag=$1 ref=$registry/rclone/rclone:$1 work key
  [ -z "$layers_only" ] || return 0
  "$repo/tools/build.sh" objectstore >&2
  key=$({ sha256sum "$bin/rclone"; crane digest "$registry/library/$busybox_image"; declare -f build_rclone; } | sha256sum | cut -c1-12)
  if crane config "$ref" 2>/dev/null | grep -q "rclone-$key"; then return 0; fi
  work=$(mktemp -d)
  install -D -m 0755 "$bin/rclone" "$work/root/usr/local/bin/rclone"
  tar -C "$work/root" --numeric-owner --owner=0 --group=0 -cf "$work/rclone.tar" .
  crane append -b "$registry/library/$busybox_image" -f "$work/rclone.tar" -t "$ref" >/dev/null
  crane mutate -t "$ref" "$ref" --entrypoint rclone --label "realnode.layer=rclone-$key" >/dev/null
  rm -rf "$work"
  log "pushed rclone/rclone:$tag ($("$bin/rclone" version | head -1), built here, on busybox)"
}

# build_backstage TAG...: a real Backstage backend (hack/realnode/backstage: the catalog
# on backend-defaults, npm ci from its lock file) on Debian trixie's Node.js, laid out as
# the official image is (/app, `node packages/backend --config ...`), pushed as
# ghcr.io/arhean/backstage:TAG for each TAG (the realnode stack's image and its bump).
build_backstage() {
  local app=$repo/hack/realnode/backstage key root
  key=$({ declare -f build_backstage; cd "$app" && find . -type f | sort | xargs cat; } | sha256sum | cut -c1-12)
  local layer=$cache/backstage-trixie-$key.tar.gz
  if [ ! -f "$layer" ]; then
    rm -f "$cache"/backstage-*.tar.gz
    log "building the Backstage image's root filesystem: debootstrap trixie with nodejs, npm ci (about two minutes)"
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=nodejs,ca-certificates trixie "$root" "$mirror" >"$cache/debootstrap-backstage.log" 2>&1 ||
      { tail -20 "$cache/debootstrap-backstage.log" >&2; return 1; }
    cp -r "$app" "$root/app"
    (cd "$root/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >"$cache/npm-backstage.log" 2>&1) ||
      { tail -20 "$cache/npm-backstage.log" >&2; return 1; }
    rm -rf "$root/var/cache/apt/archives"/*.deb "$root/usr/share/doc" "$root/usr/share/man"
    tar -C "$root" --numeric-owner -czf "$layer.tmp" . && mv "$layer.tmp" "$layer"
    rm -rf "$root"
  fi
  [ -z "$layers_only" ] || return 0
  local tag ref
  for tag in "$@"; do
    ref=$registry/arhean/backstage:$tag
    if ! crane config "$ref" 2>/dev/null | grep -q "$(basename "$layer")"; then
      crane append -f "$layer" -t "$ref" >/dev/null
      crane mutate -t "$ref" "$ref" --workdir /app --cmd node,packages/backend \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --label "realnode.layer=$(basename "$layer")" --label "realnode.tag=$tag" >/dev/null
      log "pushed ghcr.io/arhean/backstage:$tag (Backstage backend-defaults $(sed -n 's/.*"@backstage\/backend-defaults": "\(.*\)".*/\1/p' "$app/package.json"), Node.js from trixie)"
    fi
  done
}

# The tags the program pins (components/pins/pins.go), so that its images resolve here.
# shellcheck source=../pins.sh
source "$repo/hack/pins.sh"
pinned() { local image; image=$(pin "Postgres$1Image") && echo "${image#postgres:}"; }
busybox_image=$(pin InitImage)
rclone_image=$(pin RcloneImage)
pgbackrest_version=$(pin PgBackRestVersion)
build_busybox "$busybox_image"
build_postgres 15 bookworm "$(pinned 15)"
build_postgres 17 trixie "$(pinned 17)"
if [ -z "$layers_only" ] && [ "$(crane digest "$registry/library/postgres:$(pinned 17)")" != "$(crane digest "$registry/library/postgres:$(pinned 18)" 2>/dev/null)" ]; then
  crane copy "$registry/library/postgres:$(pinned 17)" "$registry/library/postgres:$(pinned 18)" >/dev/null
  log "pushed postgres:$(pinned 18) (PostgreSQL 17's image above: Debian has no 18)"
fi
rclone_tag=${rclone_image%@*} # a digest Renovate pins is not the tag
build_rclone "${rclone_tag##*:}"
build_pgbackrest 15 "$(pinned 15)-$pgbackrest_version"
build_backstage realnode-1 realnode-2
