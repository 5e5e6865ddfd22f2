# shellcheck shell=bash
# Process helpers shared by hack/cluster.sh and hack/realnode.sh, which source this file
# after setting dir (with logs/ and pids/ under it), components (in start order) and
# die. Each component runs in the background with its pid in $dir/pids/<name>.
# shellcheck disable=SC2154 # dir and components are the sourcing script's

# pid_alive NAME: the component's process runs. Two ways a pid file lies: a killed
# process whose parent is gone stays a zombie until init reaps it (1 to 2 s here, more
# under load), and kill -0 succeeds on a zombie, so the API-server outage test's restart,
# 0.3 s after its kill, waited 120 s on one instead of starting the server; and with
# pid_max at 32768 a pid is soon another process's, so the start time recorded beside
# the pid must match too.
pid_alive() {
  local pid stat
  [ -f "$dir/pids/$1" ] || return 1
  pid=$(cat "$dir/pids/$1")
  kill -0 "$pid" 2>/dev/null || return 1
  stat=$(proc_stat "$pid") || return 1
  case ${stat%% *} in Z | X) return 1 ;; esac
  [ ! -f "$dir/pids/$1.start" ] || [ "$(start_time "$stat")" = "$(cat "$dir/pids/$1.start")" ]
}

# proc_stat PID: the fields of /proc/PID/stat after the command's name (state first).
proc_stat() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; printf '%s' "${s##*) }"; }

# start_time STAT: the process's start time (field 22 of /proc/PID/stat), from proc_stat.
start_time() { cut -d' ' -f20 <<<"$1"; }

# run_component NAME COMMAND...: starts it unless it runs, its output in its log.
run_component() {
  local name=$1
  shift
  pid_alive "$name" && return
  # Appended, each start marked, so that a restart keeps the log of the run before it.
  printf '=== %s started %s\n' "$name" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$dir/logs/$name.log"
  "$@" >>"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name"
  start_time "$(proc_stat $!)" >"$dir/pids/$name.start"
}

wait_for() { # description seconds command...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq $((seconds * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  # The tail of its log, so that a CI run that stops here shows why.
  [ -f "$dir/logs/$what.log" ] && tail -n 20 "$dir/logs/$what.log" >&2
  die "$what did not come up within ${seconds}s; see $dir/logs/"
}

# stop_components stops them in reverse start order: TERM, then KILL after 5 s.
stop_components() {
  local i name
  for ((i = ${#components[@]} - 1; i >= 0; i--)); do
    name=${components[$i]}
    if pid_alive "$name"; then
      kill "$(cat "$dir/pids/$name")" 2>/dev/null || true
      for _ in $(seq 50); do pid_alive "$name" || break; sleep 0.1; done
      if pid_alive "$name"; then kill -9 "$(cat "$dir/pids/$name")" 2>/dev/null || true; fi
      log "stopped $name"
    fi
    rm -f "$dir/pids/$name" "$dir/pids/$name.start"
  done
}

print_status() {
  local name
  for name in "${components[@]}"; do
    if pid_alive "$name"; then echo "$name: running (pid $(cat "$dir/pids/$name"))"; else echo "$name: stopped"; fi
  done
}
