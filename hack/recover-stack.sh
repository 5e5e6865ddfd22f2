#!/usr/bin/env bash
# hack/recover-stack.sh ORG/STACK [force]: what the recover workflow runs, with the
# pulumi CLI against $PULUMI_BACKEND_URL. With force, clears the stack's lock first
# (`pulumi cancel`: Pulumi Cloud cancels the update, an object-store backend deletes its
# lock files); then releases the objects of pending creates from the field manager of the
# killed create (kubectl, with the stack's kubeContext), refreshes from the cluster
# dropping pending creates (a create that reached the cluster is adopted by the next up
# through server-side apply), and fails unless no pending operation remains. The
# workflow previews afterwards.
set -euo pipefail
stack=${1:?usage: hack/recover-stack.sh ORG/STACK [force]}
force=${2:-false}

if [ "$force" = true ]; then
  pulumi cancel --yes --stack "$stack"
  echo "recover: cleared the lock of $stack"
fi

# A create the runner died in leaves its object under the server-side apply field
# manager the provider drew for it (pulumi-kubernetes-xxxxxxxx), a name the state never
# receives. The next deploy adopts the object under a new one, and the first later
# change of a field both own would fail as a conflict. So the provider's managers leave
# those objects' managedFields (each removal guarded by a test of the name; their fields
# stay, and the adopting deploy applies them), as `make recover` does. The list is read
# before the refresh forgets the pending creates.
context=$(pulumi config get backstage:kubeContext --stack "$stack" 2>/dev/null || true)
kube() { kubectl ${context:+--context "$context"} "$@"; }
pending_creates=$(pulumi stack export --stack "$stack" | jq -r '(.deployment.pending_operations // [])[]
  | select(.type == "creating" and (.resource.type | startswith("kubernetes:")))
  | .resource.inputs | select(.kind != null and .metadata.name != null)
  | [.kind + (if (.apiVersion | contains("/")) then "." + (.apiVersion | split("/")[0]) else "" end),
     .metadata.name, (.metadata.namespace // "")] | @tsv')

if ! pulumi refresh --yes --skip-preview --clear-pending-creates --non-interactive --stack "$stack"; then
  echo "::error title=Recovery of ${stack##*/}::the refresh failed. If the log says the stack is locked and no deploy of it is running, run the recover workflow again with force."
  exit 1
fi
pending=$(pulumi stack export --stack "$stack" | jq '(.deployment.pending_operations // []) | length')
if [ "$pending" -gt 0 ]; then
  echo "::error title=Recovery of ${stack##*/}::$pending pending operations remain after the refresh."
  exit 1
fi
# After the refresh, which stops at a lock of a deploy that may still run, and before
# the next deploy adopts the objects.
while IFS=$'\t' read -r resource name namespace; do
  [ -n "$resource" ] || continue
  in_namespace=()
  [ -z "$namespace" ] || in_namespace=(-n "$namespace")
  live=$(kube get "$resource" "$name" "${in_namespace[@]}" --ignore-not-found -o json --show-managed-fields)
  [ -n "$live" ] || continue # the create never reached the cluster
  patch=$(jq -c '[.metadata.managedFields | to_entries | reverse[] | select(.value.manager | startswith("pulumi-kubernetes-"))
    | {op: "test", path: "/metadata/managedFields/\(.key)/manager", value: .value.manager}, {op: "remove", path: "/metadata/managedFields/\(.key)"}]' <<<"$live")
  [ "$patch" != "[]" ] || continue
  kube patch "$resource" "$name" "${in_namespace[@]}" --type=json -p "$patch" >/dev/null
  echo "recover: $resource ${namespace:+$namespace/}$name: dropped the field manager $(jq -r '[.[] | select(.op == "test") | .value] | join(", ")' <<<"$patch") of the interrupted create"
done <<<"$pending_creates"
echo "recover: $stack is unlocked and holds no pending operation"
