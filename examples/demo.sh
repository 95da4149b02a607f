#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/.. disable=SC2317  # (handlers are called by bus_listen)
# `npm run demo`: a bus in a temporary root, messages flowing end to end, then
# a small team in tmux.
#
# Starts the router, runs a shell agent (echo-bot) that answers every message,
# sends to it three ways (the CLI, bus.sh, a raw line into a pipe), reads the
# answers from an inbox, writes a plain text line and a broken line, shows
# `status` and `tail`, and stops the router. Then, on a tmux server of its own
# (`tmux -L bmad-demo-...`, never yours), it brings up a team of three demo
# agents (examples/demo-agent) with `bmad-bus up`, sends the lead a message
# that is typed into its pane and handed on to the others, prints the panes'
# screens with `bmad-bus capture`, and tears it all down: `down`, `stop`, and
# the private server killed by its own socket. Without tmux >= 3.2 that part
# is skipped with a note. Removes the root and leaves nothing running.
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
# The team part has a bus root of its own and a tmux server on a socket nobody else uses.
TEAM_ROOT="$TMP/team-bus"
TEAM_FILE="$TMP/demo-trio.yaml"
SOCK="bmad-demo-$$-$RANDOM"
# The same tmux bmad-bus runs: $BMAD_TMUX_BIN, else tmux on the PATH.
TMUX_BIN=${BMAD_TMUX_BIN:-tmux}
tmux_started=
team_started=

# `stop` returns once the keeper and the router are gone; the supervisor they ran may take a moment
# longer, and a supervisor that sees its tmux server die rebuilds the team on a new one. So the
# server is killed only when no process of the team's root is left (pgrep only looks; it kills nothing).
wait_team_daemon_gone() {
  local deadline=$((SECONDS + 10))
  if ! command -v pgrep >/dev/null 2>&1; then sleep 1; return 0; fi
  while pgrep -f -- "--dir $TEAM_ROOT " >/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Only this demo's server, by its own socket; tmux leaves the socket file behind, so ours goes too.
kill_private_tmux() {
  "$TMUX_BIN" -L "$SOCK" kill-server 2>/dev/null || true
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
  tmux_started=
}

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $started ]]; then "$BUS" stop >/dev/null 2>&1 || true; fi
  if [[ -n $team_started ]]; then
    "$BUS" --dir "$TEAM_ROOT" --tmux-socket "$SOCK" down "$TEAM_FILE" >/dev/null 2>&1 || true
    "$BUS" --dir "$TEAM_ROOT" stop >/dev/null 2>&1 || true
    wait_team_daemon_gone || true
  fi
  if [[ -n $tmux_started ]]; then kill_private_tmux; fi
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

step "9. Stop the router"
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
pids=()
"$BUS" stop
started=
if [[ -s $TMP/echo-bot.err ]]; then
  echo "echo-bot said on stderr:" >&2
  cat "$TMP/echo-bot.err" >&2
fi
summary="3 messages answered through the inbox, 1 plain text line, 1 dead letter"

# tmux >= 3.2, as the README asks for the tmux features.
tmux_usable() {
  local version
  command -v "$TMUX_BIN" >/dev/null 2>&1 || return 1
  version=$("$TMUX_BIN" -V 2>/dev/null) || return 1
  [[ $version =~ ([0-9]+)\.([0-9]+) ]] || return 1
  ((BASH_REMATCH[1] > 3 || (BASH_REMATCH[1] == 3 && BASH_REMATCH[2] >= 2)))
}

# Every team command of the demo: the team's root, the private server.
team() { "$BUS" --dir "$TEAM_ROOT" --tmux-socket "$SOCK" "$@"; }

# The pane of AGENT on the private server: `up` tags each agent's pane with @bmad_agent.
pane_of() { "$TMUX_BIN" -L "$SOCK" list-panes -a -F '#{@bmad_agent} #{pane_id}' 2>/dev/null | awk -v a="$1" '$1 == a { print $2; exit }'; }

# Waits until the pane of AGENT shows every TEXT; fails after 15 s with what it shows.
# It asks tmux itself, not `bmad-bus capture`: a poll every 0.1 s then costs no node start-up.
wait_screen() {
  local agent=$1 pane screen= missing= text deadline=$((SECONDS + 15))
  shift
  while ((SECONDS < deadline)); do
    pane=$(pane_of "$agent")
    screen=
    if [[ -n $pane ]]; then screen=$("$TMUX_BIN" -L "$SOCK" capture-pane -p -J -S -200 -t "$pane" 2>/dev/null || true); fi
    missing=
    for text in "$@"; do [[ $screen == *"$text"* ]] || missing=$text; done
    [[ -z $missing ]] && return 0
    sleep 0.1
  done
  fail "the pane of $agent did not show \"$missing\" within 15 s; it shows:
$screen"
}

if ! tmux_usable; then
  step "10. A team in tmux: skipped"
  echo "  no tmux >= 3.2 here ($TMUX_BIN), so the team part is skipped; install tmux and run the demo again to see it."
  summary="$summary; team part skipped (no tmux >= 3.2)"
else
  # Run from inside tmux, the demo still talks only to its own server.
  unset TMUX TMUX_PANE

  step "10. A team in tmux: three demo agents on a private tmux server"
  show "tmux -L $SOCK -f /dev/null new-session -d -s demo-hold    # a server of its own, without your ~/.tmux.conf"
  "$TMUX_BIN" -L "$SOCK" -f /dev/null new-session -d -s demo-hold -x 120 -y 40 || fail "could not start a private tmux server on socket $SOCK"
  tmux_started=1
  # examples/demo-agent prints what is typed into its pane and answers through the bus; the lead hands each message on.
  yaml_quote() { local q="'"; printf "'%s'" "${1//$q/$q$q}"; }
  cat >"$TEAM_FILE" <<EOF
version: 1
name: demo-trio
defaults:
  command: node demo-agent
  cwd: $(yaml_quote "$REPO/examples")
  deliver: tmux
  submit: Enter
  submit_delay: 50ms
sessions:
  - name: demo-trio
    windows:
      - name: lead
        panes:
          - { name: lead, role: lead, env: { BMAD_ROLE: lead, DEMO_FORWARD_TO: "dev-1,qa-1" } }
      - name: dev
        panes:
          - { name: dev-1, role: dev, env: { BMAD_ROLE: dev } }
      - name: qa
        panes:
          - { name: qa-1, role: qa, env: { BMAD_ROLE: qa } }
EOF
  echo "  demo-trio.yaml, each agent running examples/demo-agent:"
  sed -n '/^sessions:/,$p' "$TEAM_FILE" | sed 's/^/    /'
  show "export BMAD_BUS_DIR=$TEAM_ROOT BMAD_TMUX_SOCKET=$SOCK"
  show "bmad-bus up demo-trio.yaml && bmad-bus agents add user --deliver none"
  team_started=1
  team up "$TEAM_FILE" || fail "bmad-bus up did not bring the team up (see above)"
  # The agents answer `user`, the default sender: registered without delivery, its messages wait in the journal for `read`.
  team agents add user --deliver none >/dev/null || fail "could not register user"
  for agent in lead dev-1 qa-1; do wait_screen "$agent" "waiting for messages"; done

  step "11. bmad-bus send: typed into the lead's pane; the lead hands it on, everyone answers"
  show 'bmad-bus send lead "ship the login page"'
  team send lead "ship the login page" >/dev/null || fail "bmad-bus send to lead failed"
  wait_screen dev-1 "got from lead: from lead: ship the login page"
  wait_screen qa-1 "got from lead: from lead: ship the login page"
  wait_screen lead "got from user: ship the login page" "got from dev-1: ack:" "got from qa-1: ack:"

  step "12. bmad-bus capture: the panes' screens"
  show "bmad-bus capture lead --all    # every pane of lead's session: lead, dev-1, qa-1"
  screens=$(team capture lead --all -n 20) || fail "bmad-bus capture lead --all failed"
  sed 's/^/  /' <<<"$screens"
  show "bmad-bus read user"
  replies=$(team read user) || fail "bmad-bus read user failed"
  sed 's/^/  /' <<<"$replies"
  [[ $replies == *"lead → user"*"ack: ship the login page"* ]] || fail "the lead's answer did not reach user"

  step "13. Tear down: bmad-bus down, bmad-bus stop, the private tmux server killed"
  show "bmad-bus down demo-trio.yaml && bmad-bus stop && tmux -L $SOCK kill-server"
  team down "$TEAM_FILE" || fail "bmad-bus down failed"
  team stop || fail "bmad-bus stop (the team's router) failed"
  wait_team_daemon_gone || fail "the team's daemon (keeper, router, supervisor) still runs 10 s after bmad-bus stop"
  team_started=
  kill_private_tmux
  if "$TMUX_BIN" -L "$SOCK" has-session 2>/dev/null; then fail "the private tmux server $SOCK still runs"; fi
  echo "  private tmux server $SOCK: gone"
  summary="$summary; a team of 3 in tmux (private server $SOCK) passed 1 message on and answered it"
fi

echo
echo "demo: ok — $summary"
echo "next: bmad-bus up examples/team.yaml    # a whole team in the seed's three tiers, on your tmux server"
