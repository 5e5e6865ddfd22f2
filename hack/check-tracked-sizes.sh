#!/usr/bin/env bash
# Fails when a tracked file is larger than the limit: binaries, rendered manifests and
# state belong in git-ignored folders (bin/, out/, .pulumi-state/), never in the tree.
set -euo pipefail
limit=${1:-1048576}
cd "$(git rev-parse --show-toplevel)"
status=0
while IFS= read -r -d '' file; do
  [ -f "$file" ] || continue
  size=$(stat -c %s "$file")
  if [ "$size" -gt "$limit" ]; then
    echo "tracked file $file is $size bytes (limit $limit): remove it with 'git rm --cached' and build it into bin/" >&2
    status=1
  fi
done < <(git ls-files -z)
[ "$status" -eq 0 ] && echo "tracked files: none larger than $limit bytes"
exit "$status"
