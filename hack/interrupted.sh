#!/usr/bin/env bash
# hack/interrupted.sh ORG/STACK: fail, naming the recovery workflow, when the stack's
# last deploy was interrupted (a runner that died leaves pending operations in the
# state) or an update is still marked in progress. Runs with the pulumi CLI against
# $PULUMI_BACKEND_URL (Pulumi Cloud or an object store) before every deploy and drift run.
set -euo pipefail
stack=${1:?usage: hack/interrupted.sh ORG/STACK}
name=${stack##*/}

pending=$(pulumi stack export --stack "$stack" | jq '(.deployment.pending_operations // []) | length')
in_progress=$(pulumi stack history --stack "$stack" --json --page-size 1 2>/dev/null | jq -r '.[0].result // ""' || true)

if [ "$pending" -gt 0 ] || [ "$in_progress" = in-progress ]; then
  what="$pending pending operations from an interrupted deploy"
  [ "$in_progress" = in-progress ] && what="an update marked in progress"
  echo "::error title=Interrupted deploy of $name::$stack holds $what. If no deploy of it is running, run the recover workflow (Actions > recover > Run workflow, stack $name; force only when a lock remains), then this run again."
  exit 1
fi
echo "$stack: no interrupted deploy"
