#!/usr/bin/env bash
# A real multi-process sync178 installation on this machine: Hưng Yên (p33)
# from the 2024 listing, its first 2 districts and the first 2 communes of
# each, every unit its own `sync178-node` process with its own config,
# certificate, data folder, pid file and log, linked over loopback with
# mutual TLS exactly as in production, and the province's hub, with the
# hub.toml `deploy` writes.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: deploy/local-cluster.sh up|status|down [--dir DIR] [options]

  up      build sync178-node and sync178-hub (unless --bin), write the
          cluster into DIR with `sync178-node deploy`, start every node and
          the hub (DIR/p33/hub.toml) in the background and wait until each
          answers
  status  a short status of every node
  down    SIGTERM every node (and the hub) started by `up`, wait for them to exit

options:
  --dir DIR        the cluster's folder (default ./local-cluster)
  --bin PATH       use this sync178-node binary and build nothing
  --release        build with `cargo build --release -p sync178-node` (default)
  --debug          build with `cargo build -p sync178-node` and use the debug binary
  --hub-bin PATH   the sync178-hub binary (default: next to sync178-node)
  --base-port N    first port to try (default 17100); up moves on to the next
                   free block of ports if any of N.. is taken
  --timeout SECS   how long up waits for the nodes to answer (default 60) and
                   down for them to exit (default 40)
  --lang vi|en     language of the nodes' reports (default: $SYNC178_LANG, else vi)
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPOLOGY="$ROOT/deploy/topology/vn-admin-units-2024.csv"
PROVINCE=p33
DISTRICTS=2
COMMUNES=2
# Nodes, plus two ports kept free for the hub (gRPC, web page).
NODE_COUNT=$((1 + DISTRICTS + DISTRICTS * COMMUNES))
PORT_BLOCK=$((NODE_COUNT + 2))
POLL=0.2

die() {
  echo "local-cluster: $*" >&2
  exit 1
}
say() { echo "local-cluster: $*"; }

# ------------------------------------------------------------------ arguments

[[ $# -ge 1 ]] || {
  usage >&2
  exit 64
}
CMD=$1
shift
case "$CMD" in
  up | status | down) ;;
  -h | --help | help)
    usage
    exit 0
    ;;
  *)
    usage >&2
    exit 64
    ;;
esac

DIR=./local-cluster
BIN=
HUB_BIN=
PROFILE=release
BASE_PORT=17100
TIMEOUT=
LANG_ARGS=()
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) need_value "$@"; DIR=$2; shift 2 ;;
    --bin) need_value "$@"; BIN=$2; shift 2 ;;
    --hub-bin) need_value "$@"; HUB_BIN=$2; shift 2 ;;
    --release) PROFILE=release; shift ;;
    --debug) PROFILE=debug; shift ;;
    --base-port) need_value "$@"; BASE_PORT=$2; shift 2 ;;
    --timeout) need_value "$@"; TIMEOUT=$2; shift 2 ;;
    --lang) need_value "$@"; LANG_ARGS=(--lang "$2"); shift 2 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 64
      ;;
  esac
done
if ! [[ $BASE_PORT =~ ^[0-9]+$ ]] || ((BASE_PORT < 1024 || BASE_PORT + PORT_BLOCK > 65535)); then
  die "--base-port must be a number from 1024 to $((65535 - PORT_BLOCK))"
fi
[[ -z $TIMEOUT || $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout must be a whole number of seconds"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
ENV_FILE="$DIR/cluster.env"

# ------------------------------------------------------------------ processes

# Whether pid $1 is running (a zombie is not: it has exited, nobody reaped it).
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r /proc/$1/stat ]]; then
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
  fi
}

# Whether pid $1 is the process started with config file $2 (not a reused pid).
ours() {
  local args
  if [[ -r /proc/$1/cmdline ]]; then
    args=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  else
    args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
  fi
  [[ $args == *"$2"* ]]
}

# The pid in pid file $1 if that process is running with config $2.
running_pid() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && ours "$pid" "$2" && echo "$pid"
}

# Starts "$@" in the background, detached from our stdin/stdout, logging to
# $log and writing its pid to $pidfile (both set by the caller).
start() {
  echo "=== $(date '+%F %T') $*" >>"$log"
  NO_COLOR=1 nohup "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$pidfile"
}

# --------------------------------------------------------------------- nodes

# Reads DIR/nodes.tsv (written by `sync178-node deploy`) into arrays.
UNITS=() PARENTS=() ENDPOINTS=() CONFIGS=() NAMES=()
read_nodes() {
  local unit parent listen endpoint config name
  [[ -f $DIR/nodes.tsv ]] || die "no cluster in $DIR (no nodes.tsv): run \`up\` first"
  UNITS=() PARENTS=() ENDPOINTS=() CONFIGS=() NAMES=()
  while IFS=$'\t' read -r unit parent listen endpoint config name; do
    [[ -z $unit || $unit == \#* ]] && continue
    UNITS+=("$unit") PARENTS+=("$parent") ENDPOINTS+=("$endpoint")
    CONFIGS+=("$DIR/$config") NAMES+=("$name")
    : "$listen"
  done <"$DIR/nodes.tsv"
}

node_dir() { dirname "${CONFIGS[$1]}"; }

# `sync178-node status` against node $1 (an index) with the operator's
# certificate; extra arguments go to the command.
node_status() {
  local i=$1
  shift
  "$BIN" "${LANG_ARGS[@]}" status --endpoint "${ENDPOINTS[$i]}" --node "${UNITS[$i]}" \
    --ca "$DIR/certs/ca.pem" --cert "$DIR/certs/operator/operator.pem" \
    --key "$DIR/certs/operator/operator.key" "$@"
}

# The few lines of the status report that matter at a glance, in either language.
short_status() {
  grep -E '^(Đơn vị|Unit|Số sự kiện trong sổ|Log length):|^  (trạng thái liên kết|link state|chưa được cấp trên xác nhận|backlog|lỗi gần nhất|last error):' || true
}

indent() { sed 's/^/  /'; }

load_env() {
  if [[ -f $ENV_FILE ]]; then
    local key value
    while IFS='=' read -r key value; do
      case "$key" in
        BIN) [[ -n $BIN ]] || BIN=$value ;;
        HUB_BIN) [[ -n $HUB_BIN ]] || HUB_BIN=$value ;;
      esac
    done <"$ENV_FILE"
  fi
}

# ----------------------------------------------------------------- hub
#
# `sync178-node deploy` writes the hub's config, "$DIR/$PROVINCE/hub.toml"
# (the hub's format, one writer): it follows the province's node, with the
# hub's certificate copied beside it, its data in "$DIR/hub/data" and its
# ports $HUB_PORT (gRPC) and $HUB_WEB_PORT (web page). up starts
# "$HUB_BIN run --config $HUB_CONFIG" like a node (pid file hub/hub.pid, log
# hub/hub.log) and polls hub_ready until it succeeds; status calls
# hub_status; down stops it with the nodes.
hub_query() {
  local port
  # the first listen is the gRPC service's (the second is [web]'s)
  port=$(sed -n '/^listen = "127\.0\.0\.1:[0-9]*"$/{s/^listen = "127\.0\.0\.1:\([0-9]*\)"$/\1/p;q;}' "$HUB_CONFIG")
  "$HUB_BIN" "${LANG_ARGS[@]}" query --endpoint "https://127.0.0.1:$port" --ca "$DIR/certs/ca.pem" \
    --cert "$DIR/certs/operator/operator.pem" --key "$DIR/certs/operator/operator.key" "$@"
}
hub_ready() { hub_query sync-status >/dev/null 2>&1; }
hub_status() { hub_query sync-status 2>&1 | indent; }

HUB_CONFIG="$DIR/$PROVINCE/hub.toml"

# ------------------------------------------------------------------------ up

port_free() {
  if command -v ss >/dev/null 2>&1; then
    [[ -z $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
  elif (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    return 1 # something accepted a connection there
  fi
}

# The first base port from $BASE_PORT on whose whole block is free.
pick_base_port() {
  local base p ok
  for ((base = BASE_PORT; base + PORT_BLOCK <= 65535 && base < BASE_PORT + 50 * 10; base += 10)); do
    ok=1
    for ((p = base; p < base + PORT_BLOCK; p++)); do
      port_free "$p" || {
        ok=0
        break
      }
    done
    ((ok)) && {
      echo "$base"
      return 0
    }
  done
  return 1
}

find_binary() {
  if [[ -n $BIN ]]; then
    [[ -x $BIN ]] || die "--bin $BIN is not an executable file"
    BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
    return
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust, or pass --bin PATH"
  local flags=() target
  [[ $PROFILE == release ]] && flags=(--release)
  say "building: cargo build${flags[*]:+ ${flags[*]}} -p sync178-node -p sync178-hub"
  cargo build --manifest-path "$ROOT/Cargo.toml" "${flags[@]}" -p sync178-node -p sync178-hub
  target=$(cargo metadata --manifest-path "$ROOT/Cargo.toml" --format-version 1 --no-deps |
    grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4) || true
  BIN="${target:-$ROOT/target}/$PROFILE/sync178-node"
  [[ -x $BIN ]] || die "built, but found no binary at $BIN"
}

stop_started() {
  say "stopping what was started"
  cmd_down || true
}

cmd_up() {
  local i pid base deadline wait_secs=${TIMEOUT:-60}
  read_nodes_if_any
  for i in "${!UNITS[@]}"; do
    if pid=$(running_pid "$(node_dir "$i")/node.pid" "${CONFIGS[$i]}"); then
      die "${UNITS[$i]} is already running (pid $pid): \`status\` or \`down\` first"
    fi
  done

  find_binary
  [[ -z $HUB_BIN ]] && HUB_BIN="$(dirname "$BIN")/sync178-hub"
  printf 'BIN=%s\nHUB_BIN=%s\n' "$BIN" "$HUB_BIN" >"$ENV_FILE"

  base=$(pick_base_port) || die "no free block of $PORT_BLOCK ports from $BASE_PORT on"
  [[ $base == "$BASE_PORT" ]] || say "ports $BASE_PORT.. are taken; using $base.."
  HUB_PORT=$((base + NODE_COUNT))
  HUB_WEB_PORT=$((base + NODE_COUNT + 1))
  "$BIN" "${LANG_ARGS[@]}" deploy --topology "$TOPOLOGY" --province "$PROVINCE" \
    --districts "$DISTRICTS" --communes "$COMMUNES" --out "$DIR" \
    --base-port "$base" --host 127.0.0.1 \
    --hub-port "$HUB_PORT" --hub-web-port "$HUB_WEB_PORT" --hub-data-dir "$DIR/hub/data"
  echo

  read_nodes
  ((${#UNITS[@]} == NODE_COUNT)) || die "deploy wrote ${#UNITS[@]} nodes, expected $NODE_COUNT"

  local log pidfile
  trap 'echo; stop_started; exit 130' INT TERM
  for i in "${!UNITS[@]}"; do
    log="$(node_dir "$i")/node.log" pidfile="$(node_dir "$i")/node.pid"
    start "$BIN" run --config "${CONFIGS[$i]}"
    say "started ${UNITS[$i]} (pid $(<"$pidfile")) on ${ENDPOINTS[$i]}"
  done

  deadline=$((SECONDS + wait_secs))
  local pending=("${!UNITS[@]}") next
  while ((${#pending[@]})); do
    next=()
    for i in "${pending[@]}"; do
      pid=$(<"$(node_dir "$i")/node.pid")
      if ! alive "$pid"; then
        echo "local-cluster: ${UNITS[$i]} exited; the end of its log:" >&2
        tail -n 20 "$(node_dir "$i")/node.log" >&2 || true
        stop_started
        exit 1
      fi
      if node_status "$i" >/dev/null 2>&1; then
        say "${UNITS[$i]} answers"
      else
        next+=("$i")
      fi
    done
    pending=("${next[@]}")
    if ((${#pending[@]})); then
      if ((SECONDS >= deadline)); then
        for i in "${pending[@]}"; do
          echo "local-cluster: ${UNITS[$i]} did not answer within ${wait_secs}s; its status and log:" >&2
          node_status "$i" 2>&1 | tail -n 3 >&2 || true
          tail -n 20 "$(node_dir "$i")/node.log" >&2 || true
        done
        stop_started
        exit 1
      fi
      sleep "$POLL"
    fi
  done

  up_hub "$deadline"
  trap - INT TERM

  echo
  say "up: ${#UNITS[@]} nodes of $PROVINCE in $DIR"
  printf '  %-8s %-26s %-6s %s\n' unit endpoint parent folder
  for i in "${!UNITS[@]}"; do
    printf '  %-8s %-26s %-6s %s\n' "${UNITS[$i]}" "${ENDPOINTS[$i]}" "${PARENTS[$i]}" "$(node_dir "$i")/"
  done
  cat <<EOF
  each folder: node.toml (config), node.log (log), node.pid, data/ (event log), tls/
  certificates: $DIR/certs (recorder: certs/<unit>/recorder.*, operator: certs/operator/)
  hub: $HUB_CONFIG (log and pid in $DIR/hub/), queries https://127.0.0.1:$HUB_PORT, web page http://127.0.0.1:$HUB_WEB_PORT/
  binary: $BIN

record events at a commune, then watch them reach the province:
  $BIN submit --endpoint ${ENDPOINTS[$((NODE_COUNT - 1))]} --ca $DIR/certs/ca.pem \\
      --cert $DIR/certs/${UNITS[$((NODE_COUNT - 1))]}/recorder.pem --key $DIR/certs/${UNITS[$((NODE_COUNT - 1))]}/recorder.key events.ndjson
  $0 status --dir $DIR
  $0 down --dir $DIR
EOF
}

# Like read_nodes, but an absent nodes.tsv just means nothing ran here yet.
read_nodes_if_any() {
  [[ -f $DIR/nodes.tsv ]] && read_nodes
  return 0
}

up_hub() {
  local deadline=$1 log pidfile
  mkdir -p "$DIR/hub"
  if [[ ! -x $HUB_BIN ]]; then
    say "hub: skipped (no sync178-hub binary at $HUB_BIN)"
    return
  fi
  [[ -f $HUB_CONFIG ]] || die "deploy wrote no $HUB_CONFIG"
  log="$DIR/hub/hub.log" pidfile="$DIR/hub/hub.pid"
  start "$HUB_BIN" run --config "$HUB_CONFIG"
  say "started hub (pid $(<"$pidfile"))"
  until hub_ready; do
    alive "$(<"$pidfile")" || {
      echo "local-cluster: the hub exited; the end of its log:" >&2
      tail -n 20 "$log" >&2 || true
      stop_started
      exit 1
    }
    ((SECONDS < deadline)) || {
      echo "local-cluster: the hub did not get ready in time" >&2
      stop_started
      exit 1
    }
    sleep "$POLL"
  done
  say "hub answers"
}

# -------------------------------------------------------------------- status

cmd_status() {
  local i pid failed=0
  read_nodes
  load_env
  [[ -n $BIN && -x $BIN ]] || die "no sync178-node binary recorded in $ENV_FILE: pass --bin PATH"
  for i in "${!UNITS[@]}"; do
    if pid=$(running_pid "$(node_dir "$i")/node.pid" "${CONFIGS[$i]}"); then
      echo "${UNITS[$i]} (pid $pid, ${ENDPOINTS[$i]}, ${NAMES[$i]})"
      local report
      if report=$(node_status "$i" 2>&1); then
        short_status <<<"$report" | indent
      else
        indent <<<"$report"
        failed=1
      fi
    else
      echo "${UNITS[$i]} (${ENDPOINTS[$i]}, ${NAMES[$i]}): not running"
      failed=1
    fi
  done
  if pid=$(running_pid "$DIR/hub/hub.pid" "$HUB_CONFIG"); then
    echo "hub (pid $pid)"
    hub_status
  else
    echo "hub: not running"
  fi
  return "$failed"
}

# ---------------------------------------------------------------------- down

cmd_down() {
  local i pid deadline wait_secs=${TIMEOUT:-40}
  local names=() pids=() pidfiles=() pidfile config
  read_nodes_if_any
  for i in "${!UNITS[@]}" hub; do
    if [[ $i == hub ]]; then
      names+=(hub) pidfile="$DIR/hub/hub.pid" config=$HUB_CONFIG
    else
      names+=("${UNITS[$i]}") pidfile="$(node_dir "$i")/node.pid" config=${CONFIGS[$i]}
    fi
    pidfiles+=("$pidfile")
    if pid=$(running_pid "$pidfile" "$config"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    else
      pids+=("")
      [[ -f $pidfile ]] && rm -f "$pidfile"
      [[ $i == hub ]] || say "${names[-1]}: not running"
    fi
  done

  deadline=$((SECONDS + wait_secs))
  local left=1 failed=0
  while ((left)); do
    left=0
    for i in "${!pids[@]}"; do
      [[ -n ${pids[$i]} ]] && alive "${pids[$i]}" && left=1
    done
    ((left)) || break
    ((SECONDS < deadline)) || break
    sleep "$POLL"
  done
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    [[ -n $pid ]] || continue
    if alive "$pid"; then
      echo "local-cluster: ${names[$i]} (pid $pid) still running after ${wait_secs}s" >&2
      failed=1
    else
      rm -f "${pidfiles[$i]}"
      say "${names[$i]} (pid $pid) stopped"
    fi
  done
  ((failed)) && return 1
  say "down: nothing of $DIR is running"
}

case "$CMD" in
  up) cmd_up ;;
  status) cmd_status ;;
  down) cmd_down ;;
esac
