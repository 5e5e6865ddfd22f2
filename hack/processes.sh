# shellcheck shell=bash
# Process helpers shared by hack/cluster.sh and hack/realnode.sh, which source this file
# after setting dir (with logs/ and pids/ under it), components (in start order) and
# die. Each component runs in the background with its pid in $dir/pids/<name>.

# pid_alive NAME: the component's process runs. A killed process whose parent is gone
# stays a zombie until init reaps it (seconds here, longer under load), and kill -0
# succeeds on a zombie, so its state is read too: a component killed a moment ago (the
# API-server outage test) is started again instead of waited for.
pid_alive() {
  local pid state
  [ -f "$dir/pids/$1" ] || return 1
  pid=$(cat "$dir/pids/$1")
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# run_component NAME COMMAND...: starts it unless it runs, its output in its log.
run_component() {
  local name=$1
  shift
  pid_alive "$name" && return
  "$@" >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name"
}

wait_for() { # description seconds command...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq $((seconds * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
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
      pid_alive "$name" && kill -9 "$(cat "$dir/pids/$name")" 2>/dev/null || true
      log "stopped $name"
    fi
    rm -f "$dir/pids/$name"
  done
}

print_status() {
  local name
  for name in "${components[@]}"; do
    if pid_alive "$name"; then echo "$name: running (pid $(cat "$dir/pids/$name"))"; else echo "$name: stopped"; fi
  done
}
