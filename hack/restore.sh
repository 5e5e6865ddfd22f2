#!/usr/bin/env bash
# Restores a stack's database (docs/operations.md: Backups):
#   hack/restore.sh NAMESPACE [BACKUP]        TIME=<RFC 3339> restores to an instant
# With backups in an object store (cronjob/backstage-pitr-restore exists), the server
# stops, pgBackRest restores its data folder to TIME, to the end of BACKUP (a label such
# as 20261203-031700F) or to the end of the archive, the server starts and replays the
# WAL up to there, and a base backup of the new timeline starts. Otherwise BACKUP is a
# pg_dump run (the newest when empty), on the claim or, for an external database with
# objectStore, in the bucket, loaded into the running server.
# Nothing may write meanwhile: Backstage must be stopped (backstage:maintenance true).
# With STACK_CMD (make restore's driver), the script stops it itself and starts it again
# at the end; without, it refuses while Backstage runs.
set -euo pipefail
namespace=${1:?usage: hack/restore.sh NAMESPACE [BACKUP], TIME=<RFC 3339> for a time}
backup=${2:-}
time=${TIME:-}
log() { printf 'restore: %s\n' "$*" >&2; }

pitr=
if kubectl get cronjob backstage-pitr-restore -n "$namespace" >/dev/null 2>&1; then pitr=1; fi
if [ -n "$time" ] && [ -z "$pitr" ]; then
  log "TIME needs the in-cluster server's backups in an object store (backstage:backup.objectStore); this stack's are dumps (an external database's point-in-time recovery is its provider's): name one with BACKUP"
  exit 2
fi
if [ -n "$time" ] && [ -n "$backup" ]; then
  log "TIME and BACKUP are both set; name one"
  exit 2
fi

stopped_here=
running=$(kubectl get deployment backstage -n "$namespace" -o jsonpath='{.status.replicas}' 2>/dev/null || true)
if [ -n "$running" ] && [ "$running" != 0 ]; then
  if [ -z "${STACK_CMD:-}" ]; then
    log "Backstage still runs $running pod(s) in $namespace; set backstage:maintenance to true and run up first"
    exit 1
  fi
  log "stopping Backstage (backstage:maintenance true, then up)"
  $STACK_CMD maintenance on
  stopped_here=1
fi
start_again() {
  if [ -n "$stopped_here" ]; then
    log "starting Backstage again (backstage:maintenance removed, then up)"
    $STACK_CMD maintenance off
  fi
}

run_job() { # run_job CRONJOB NAME=VALUE...: a Job from the CronJob with those variables, waited for
  local cronjob=$1 job
  shift
  job="$cronjob-$(date -u +%Y%m%d%H%M%S)"
  kubectl create job "$job" -n "$namespace" --from="cronjob/$cronjob" --dry-run=client -o yaml |
    kubectl set env --local -f - "$@" -o yaml |
    kubectl create -f - >/dev/null
  log "$job started; waiting (its log: kubectl logs -n $namespace job/$job)"
  # A Job either completes or fails for good; wait for whichever comes first.
  local state=
  for _ in $(seq 1 720); do
    state=$(kubectl get job "$job" -n "$namespace" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    case "$state" in *Complete*|*Failed*) break ;; esac
    sleep 5
  done
  kubectl logs -n "$namespace" "job/$job" --tail=20 2>/dev/null || true
  [[ $state == *Complete* ]] || { log "$job did not complete (${state:-still running after an hour})"; return 1; }
}

if [ -z "$pitr" ]; then
  run_job backstage-restore "BACKUP=$backup"
  start_again
  exit 0
fi

# The restore Job mounts the server's data claim, data-<StatefulSet>-0.
claim=$(kubectl get cronjob backstage-pitr-restore -n "$namespace" \
  -o jsonpath='{.spec.jobTemplate.spec.template.spec.volumes[?(@.name=="data")].persistentVolumeClaim.claimName}')
server=${claim#data-}
server=${server%-0}
log "stopping the server (statefulset/$server to 0 replicas)"
kubectl scale statefulset "$server" -n "$namespace" --replicas=0 >/dev/null
kubectl wait pod "$server-0" -n "$namespace" --for=delete --timeout=10m >/dev/null 2>&1 || true
restored=0
run_job backstage-pitr-restore "TARGET_TIME=$time" "BACKUP=$backup" || restored=$?
# The server starts again either way: a refused target (a time before the first backup,
# a store without one) leaves its data folder untouched; a failed pgBackRest restore
# may not, and the message below says so.
log "starting the server (statefulset/$server to 1 replica); it replays the WAL up to the target first"
kubectl scale statefulset "$server" -n "$namespace" --replicas=1 >/dev/null
if ! kubectl rollout status statefulset "$server" -n "$namespace" --timeout=30m >/dev/null; then
  log "the server is not ready after 30 minutes: kubectl describe pod -n $namespace $server-0; Backstage stays stopped"
  exit 1
fi
if [ "$restored" != 0 ]; then
  # pitr-restore.sh checks the target before pgBackRest touches the data folder; a
  # failure inside pgBackRest's restore can leave it partly restored.
  log "the restore failed (its log above); if it refused the target the server runs on the data it had, otherwise fix the cause and run the restore again before you start Backstage (it stays stopped)"
  exit 1
fi
# The promoted server runs on a new timeline: a base backup of it, so that the next
# restore need not replay from before this one.
job="backstage-base-backup-$(date -u +%Y%m%d%H%M%S)"
kubectl create job "$job" -n "$namespace" --from=cronjob/backstage-base-backup >/dev/null
log "a base backup of the new timeline runs: kubectl logs -n $namespace job/$job"
start_again
