#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/.. disable=SC2317  # (handlers are called by bus_listen)
# `npm run demo`: a bus in a temporary root, messages flowing end to end.
#
# Starts the router, runs a shell agent (echo-bot) that answers every message,
# sends to it three ways (the CLI, bus.sh, a raw line into a pipe), reads the
# answers from an inbox, writes a plain text line and a broken line, shows
# `status` and `tail`, then stops everything and removes the root.
# Exits 0 when every step did what it should, non-zero with the reason if not.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUS="$REPO/bin/bmad-bus"

if [[ ! -f $REPO/dist/src/cli.js ]]; then
  echo "demo: $REPO/dist is missing; run \`npm install\` (or \`npx tsc -p .\`) first" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bmad-bus-demo.XXXXXX")
export BMAD_BUS_DIR="$TMP/bus"
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

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[[ -t 1 && -z ${NO_COLOR-} ]] || step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

step "1. A bus in a temporary root: two agents, then the router"
show "export BMAD_BUS_DIR=$BMAD_BUS_DIR"
show "bmad-bus init && bmad-bus agents add alice && bmad-bus agents add echo-bot && bmad-bus start"
"$BUS" init >/dev/null
"$BUS" agents add alice --role dev >/dev/null
"$BUS" agents add echo-bot --role helper >/dev/null
"$BUS" start
started=1
ls -p "$BMAD_BUS_DIR" | sed 's/^/  /'

# shellcheck source=pipes/bus.sh
source "$REPO/pipes/bus.sh"

step "2. A shell agent: echo-bot answers every message (pipes/bus.sh, bus_listen)"
echo_bot() {
  export BMAD_AGENT=echo-bot
  answer() { bus_reply "echo: $MSG_BODY"; }
  bus_listen answer
}
echo_bot 2>"$TMP/echo-bot.err" &
pids+=($!)
cat <<'EOF'
  echo_bot() {
    export BMAD_AGENT=echo-bot
    answer() { bus_reply "echo: $MSG_BODY"; }
    bus_listen answer
  }
  echo_bot &
EOF

step "3. Three ways to send (all from alice)"
show 'bmad-bus send echo-bot "hello from the CLI" --from alice'
"$BUS" send echo-bot "hello from the CLI" --from alice
show 'BMAD_AGENT=alice bus_send echo-bot "hello from bash: \"quotes\", tabs	and ünïcödé"'
BMAD_AGENT=alice bus_send echo-bot $'hello from bash: "quotes", tabs\tand ünïcödé'
show "echo '{\"from\":\"alice\",\"to\":\"echo-bot\",\"body\":{\"raw\":\"JSON line\"}}' > \$BMAD_BUS_DIR/bus.pipe"
echo '{"from":"alice","to":"echo-bot","body":{"raw":"JSON line"}}' >"$BMAD_BUS_DIR/bus.pipe"

step "4. Inbox delivery: alice reads the answers from inbox/alice.pipe (bus_read)"
show 'BMAD_AGENT=alice bus_read -t 10 line; bus_parse "$line"'
answers=0
for _ in 1 2 3; do
  line=
  BMAD_AGENT=alice bus_read -t 10 line || fail "alice's answer $((answers + 1)) of 3 did not arrive within 10 s (see \`bmad-bus status\`)"
  bus_parse "$line"
  printf '  %s -> %s: %s\n' "$MSG_FROM" "$MSG_TO" "$MSG_BODY"
  [[ $MSG_FROM == echo-bot && $MSG_BODY == echo:* ]] || fail "unexpected message in alice's inbox: $line"
  answers=$((answers + 1))
done

step "5. A plain text line into orchestrator.pipe (wrapped as type text)"
show "echo 'deploy finished' > \$BMAD_BUS_DIR/orchestrator.pipe"
echo 'deploy finished' >"$BMAD_BUS_DIR/orchestrator.pipe"
show "bmad-bus read orchestrator"
found=
for _ in $(seq 50); do
  out=$("$BUS" read orchestrator)
  if [[ $out == *"deploy finished"* ]]; then found=1; break; fi
  sleep 0.1
done
[[ -n $found ]] || fail "the plain text line never reached the orchestrator's journal view"
sed 's/^/  /' <<<"$out"

step "6. A broken line is dead-lettered; the bus keeps going"
show "echo '{\"to\":\"alice\", oops' > \$BMAD_BUS_DIR/bus.pipe"
echo '{"to":"alice", oops' >"$BMAD_BUS_DIR/bus.pipe"
for _ in $(seq 50); do
  [[ -s $BMAD_BUS_DIR/deadletter.ndjson ]] && break
  sleep 0.1
done
[[ -s $BMAD_BUS_DIR/deadletter.ndjson ]] || fail "the broken line was not dead-lettered"
show "tail -n 1 \$BMAD_BUS_DIR/deadletter.ndjson"
tail -n 1 "$BMAD_BUS_DIR/deadletter.ndjson" | cut -c1-160 | sed 's/^/  /'

step "7. bmad-bus status"
"$BUS" status

step "8. bmad-bus tail --no-follow (all traffic; dead letters marked)"
"$BUS" tail --no-follow -n 20

if command -v tmux >/dev/null 2>&1; then
  step "Next: a whole team in tmux"
  echo "  bmad-bus up examples/team.yaml    # sessions, panes and agents from one topology file"
fi

step "9. Stop and clean up"
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
pids=()
"$BUS" stop
started=
if [[ -s $TMP/echo-bot.err ]]; then
  echo "echo-bot said on stderr:" >&2
  cat "$TMP/echo-bot.err" >&2
fi
echo
echo "demo: ok — 3 messages answered through the inbox, 1 plain text line, 1 dead letter"
