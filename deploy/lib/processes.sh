# Sourced by deploy/demo.sh and tests/bench/run.sh: waiting for the processes a script
# starts and stopping them again.

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (return 0) or SECONDS
# have passed (return 1).
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.1
  done
}

# stop_processes PID...: SIGTERM, up to 5 s to exit (a graceful drain), then SIGKILL;
# reaps those that are children of this shell.
stop_processes() {
  [[ $# -gt 0 ]] || return 0
  kill -TERM "$@" 2>/dev/null || true
  local _ pid alive
  for _ in $(seq 50); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 1 ]] || break
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
  wait "$@" 2>/dev/null || true
}
