#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/.. disable=SC2317  # (handlers are called by bus_listen)
# Two shell agents, alice and bob, play ping-pong through the bus.
#
#   bash examples/two-agents.sh            # ROUNDS=5 by default
#
# It runs on its own temporary bus root: starts the router (`bmad-bus start`),
# runs alice and bob as background loops built on pipes/bus.sh, prints the
# conversation and `bmad-bus tail --no-follow`, then stops everything it
# started and removes the root. Exit 0 only if every message arrived.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUS="$REPO/bin/bmad-bus"
ROUNDS=${ROUNDS:-5}
TIMEOUT=${TIMEOUT:-30}

if [[ ! -f $REPO/dist/src/cli.js ]]; then
  echo "two-agents: $REPO/dist is missing; run \`npm install\` (or \`npx tsc -p .\`) first" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bmad-bus-example.XXXXXX")
export BMAD_BUS_DIR="$TMP/bus"
export NO_COLOR=1
pids=()
started=

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $started ]]; then "$BUS" stop >/dev/null 2>&1 || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BUS" init >/dev/null
"$BUS" agents add alice --role dev >/dev/null
"$BUS" agents add bob --role qa >/dev/null
"$BUS" start >/dev/null
started=1

# shellcheck source=pipes/bus.sh
source "$REPO/pipes/bus.sh"

# bob answers every ping with a pong, and stops after the last round.
bob() {
  export BMAD_AGENT=bob
  on_message() {
    local n=${MSG_BODY#ping }
    echo "bob   <- $MSG_FROM: $MSG_BODY" >>"$TMP/conversation.log"
    bus_reply "pong $n"
    if ((n >= ROUNDS)); then bus_stop; fi
  }
  bus_listen -t "$TIMEOUT" on_message
}

# alice starts, and pings again on every pong until the last round.
alice() {
  export BMAD_AGENT=alice
  on_message() {
    local n=${MSG_BODY#pong }
    echo "alice <- $MSG_FROM: $MSG_BODY (reply to $MSG_REPLY_TO)" >>"$TMP/conversation.log"
    if ((n >= ROUNDS)); then bus_stop; return; fi
    bus_send bob "ping $((n + 1))"
  }
  bus_send bob "ping 1"
  bus_listen -t "$TIMEOUT" on_message
}

bob >"$TMP/bob.log" 2>&1 &
pids+=($!)
alice >"$TMP/alice.log" 2>&1 &
pids+=($!)

: >"$TMP/conversation.log"
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
pids=()

echo "== the conversation"
sed 's/^/  /' "$TMP/conversation.log"
if [[ -s $TMP/alice.log || -s $TMP/bob.log ]]; then
  echo "== stderr of the agents"
  cat "$TMP/alice.log" "$TMP/bob.log"
fi

echo "== bmad-bus tail --no-follow"
"$BUS" tail --no-follow -n $((2 * ROUNDS + 5))

# Every ping and pong must be in the journal, and each agent must have seen its half.
journal=$("$BUS" tail --no-follow --json -n 1000)
pings=$(grep -c '"body":"ping ' <<<"$journal" || true)
pongs=$(grep -c '"body":"pong ' <<<"$journal" || true)
got_bob=$(grep -c '^bob   <- alice: ping ' "$TMP/conversation.log" || true)
got_alice=$(grep -c '^alice <- bob: pong ' "$TMP/conversation.log" || true)
echo "== result: journal $pings pings, $pongs pongs; bob got $got_bob pings, alice got $got_alice pongs (of $ROUNDS)"
if ((status != 0 || pings != ROUNDS || pongs != ROUNDS || got_bob != ROUNDS || got_alice != ROUNDS)); then
  echo "two-agents: FAILED (listeners exited with $status)" >&2
  exit 1
fi
echo "two-agents: ok"
