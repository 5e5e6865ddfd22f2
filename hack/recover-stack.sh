#!/usr/bin/env bash
# hack/recover-stack.sh ORG/STACK [force]: what the recover workflow runs, with the
# pulumi CLI against $PULUMI_BACKEND_URL. With force, clears the stack's lock first
# (`pulumi cancel`: Pulumi Cloud cancels the update, an object-store backend deletes its
# lock files); then refreshes from the cluster dropping pending creates (a create that
# reached the cluster is adopted by the next up through server-side apply), and fails
# unless no pending operation remains. The workflow previews afterwards.
set -euo pipefail
stack=${1:?usage: hack/recover-stack.sh ORG/STACK [force]}
force=${2:-false}

if [ "$force" = true ]; then
  pulumi cancel --yes --stack "$stack"
  echo "recover: cleared the lock of $stack"
fi
if ! pulumi refresh --yes --skip-preview --clear-pending-creates --non-interactive --stack "$stack"; then
  echo "::error title=Recovery of ${stack##*/}::the refresh failed. If the log says the stack is locked and no deploy of it is running, run the recover workflow again with force."
  exit 1
fi
pending=$(pulumi stack export --stack "$stack" | jq '(.deployment.pending_operations // []) | length')
if [ "$pending" -gt 0 ]; then
  echo "::error title=Recovery of ${stack##*/}::$pending pending operations remain after the refresh."
  exit 1
fi
echo "recover: $stack is unlocked and holds no pending operation"
