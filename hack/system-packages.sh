#!/usr/bin/env bash
# hack/system-packages.sh WHAT PACKAGE...: installs Debian packages that a part of the
# tests needs, but only where that is asked for: on CI's fresh machine (CI is set, as
# .ci/run's runner sets it) or with SYSTEM_PACKAGES=1. Anywhere else, a developer's
# workstation included, it changes nothing: it says which packages WHAT needs and how to
# get them, and exits 1 so that the caller skips WHAT.
set -euo pipefail
what=$1
shift
missing=()
for package in "$@"; do
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ "${#missing[@]}" = 0 ] && exit 0
if [ -z "${CI:-}" ] && [ "${SYSTEM_PACKAGES:-0}" != 1 ]; then
  # shellcheck disable=SC2016 # the backquotes are the message's
  printf 'test: %s needs %s, not installed; skipped. `make test SYSTEM_PACKAGES=1` installs them (as root), as CI does\n' "$what" "${missing[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null || { printf 'test: %s needs %s, and this machine has no apt-get\n' "$what" "${missing[*]}" >&2; exit 1; }
printf 'test: installing %s for %s\n' "${missing[*]}" "$what" >&2
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
