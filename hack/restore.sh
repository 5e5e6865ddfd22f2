#!/usr/bin/env bash
# Restores one backup (or the newest) into the running database of a stack:
#   hack/restore.sh NAMESPACE [BACKUP]
# Backstage must be stopped first (backstage:maintenance true), so that nothing writes during the
# restore. It starts a Job from the suspended CronJob backstage-restore, with BACKUP in
# its environment, and waits for it.
set -euo pipefail
namespace=${1:?usage: hack/restore.sh NAMESPACE [BACKUP]}
backup=${2:-}
running=$(kubectl get deployment backstage -n "$namespace" -o jsonpath='{.status.replicas}' 2>/dev/null || true)
if [ -n "$running" ] && [ "$running" != 0 ]; then
  echo "restore: Backstage still runs $running pod(s) in $namespace; set backstage:maintenance to true and run up first" >&2
  exit 1
fi
job="backstage-restore-$(date -u +%Y%m%d%H%M%S)"
kubectl create job "$job" -n "$namespace" --from=cronjob/backstage-restore --dry-run=client -o yaml |
  kubectl set env --local -f - "BACKUP=$backup" -o yaml |
  kubectl create -f -
echo "restore: $job started; waiting (its log: kubectl logs -n $namespace job/$job)"
kubectl wait -n "$namespace" --for=condition=complete --timeout=30m "job/$job"
kubectl logs -n "$namespace" "job/$job" --tail=20 || true
