// The shell side: pipes/bus.sh through a real router, and the examples end to end.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { REPO, cli, startRouter, tempRoot, waitFor, type RunningRouter } from '../helpers/bus.js';

const BUS_SH = path.join(REPO, 'pipes', 'bus.sh');

interface BashResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a bash script (with bus.sh sourced under `set -euo pipefail`) as a child process. */
function bash(script: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<BashResult> {
  const child = spawnBash(script, env);
  return finished(child, timeoutMs);
}

function spawnBash(script: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const prelude = `set -euo pipefail\nsource ${JSON.stringify(BUS_SH)}\n`;
  return spawn('bash', ['-c', prelude + script], {
    env: { ...process.env, NO_COLOR: '1', BMAD_AGENT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess, timeoutMs: number): Promise<BashResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      // SIGTERM first, so an example's trap can stop the router it started.
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      reject(new Error(`bash timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every journaled envelope, oldest first. */
async function journal(root: string): Promise<Array<Record<string, unknown>>> {
  const r = await cli(['--dir', root, 'tail', '--no-follow', '--json', '-n', '100000']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => typeof e.id === 'string');
}

async function waitForJournal(root: string, count: number, what: string): Promise<Array<Record<string, unknown>>> {
  return waitFor(async () => {
    const entries = await journal(root);
    return entries.length >= count ? entries : undefined;
  }, 20_000, what);
}

// Text a shell script could mangle: quotes, backslashes, control characters, UTF-8, shell syntax.
const NASTY = [
  'plain words',
  'he said "hi" and left',
  'back\\slash, double \\\\ and a trailing one \\',
  'a\\"b\\\\"c "\\" \\n (a literal backslash-n, not a newline)',
  'tab\there\tand\tthere',
  'line one\nline two\n\nline four',
  'carriage\r\nreturn',
  'controls \x01 \x02 \x07 \x08 \x0b \x0c \x1b[31m red \x1f',
  'DEL \x7f passes',
  'unicode: héllo wörld — 日本語 — 🎉👩‍💻 — \u2028 \u2029',
  '$(echo pwned) `echo pwned` ${HOME} $HOME ~ * ? [a] ;|&',
  '%s %d %% %b \\x41 -n -e',
  '   leading and trailing spaces   ',
  '{"looks":"like json"}',
  '',
  '/',
  '\\u0041 stays six characters',
];

describe('pipes/bus.sh', () => {
  let root: { root: string; cleanup: () => void };
  let router: RunningRouter | undefined;
  const children: ChildProcess[] = [];

  before(async () => {
    root = tempRoot();
    assert.equal((await cli(['--dir', root.root, 'init'])).code, 0);
    for (const name of ['alice', 'bob']) {
      const r = await cli(['--dir', root.root, 'agents', 'add', name]);
      assert.equal(r.code, 0, r.stderr);
    }
    router = await startRouter(root.root);
  });

  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  after(async () => {
    await router?.stop();
    root.cleanup();
  });

  const env = (): NodeJS.ProcessEnv => ({ BMAD_BUS_DIR: root.root });

  test('bus_send JSON-escapes nasty text: the journal holds it exactly', async () => {
    const before = (await journal(root.root)).length;
    const vars: NodeJS.ProcessEnv = {};
    NASTY.forEach((text, i) => (vars[`NASTY_${i}`] = text));
    const r = await bash(
      `export BMAD_AGENT=alice
for ((i = 0; i < ${NASTY.length}; i++)); do v=NASTY_$i; bus_send bob "\${!v}"; done
bus_send bob several words   joined by single spaces
BUS_TYPE=task BUS_THREAD=t-1 BUS_REPLY_TO=r-1 bus_send bob 'with options'
bus_send_json bob '{"n": 1,
  "list": [1, "two", {"three": null}]}'
bus_broadcast 'to everyone'
bus_to_orchestrator 'to the orchestrator'`,
      { ...env(), ...vars },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const entries = (await waitForJournal(root.root, before + NASTY.length + 5, 'the messages in the journal')).slice(before);
    assert.deepEqual(
      entries.slice(0, NASTY.length).map((e) => e.body),
      NASTY,
    );
    for (const e of entries) assert.equal(e.from, 'alice');
    const rest = entries.slice(NASTY.length);
    assert.equal(rest[0]!.body, 'several words joined by single spaces');
    assert.deepEqual([rest[1]!.type, rest[1]!.thread, rest[1]!.reply_to, rest[1]!.body], ['task', 't-1', 'r-1', 'with options']);
    assert.deepEqual(rest[2]!.body, { n: 1, list: [1, 'two', { three: null }] });
    assert.deepEqual([rest[3]!.to, rest[3]!.body], ['*', 'to everyone']);
    assert.deepEqual([rest[4]!.to, rest[4]!.body], ['orchestrator', 'to the orchestrator']);
  });

  test('the fast path follows changes of sender, recipient and options; bus_open batches', async () => {
    const before = (await journal(root.root)).length;
    const r = await bash(
      `for i in 1 2 3; do
  BMAD_AGENT=alice bus_send bob "a$i"
  BMAD_AGENT=bob bus_send alice "b$i"
  BUS_TYPE=event BMAD_AGENT=bob bus_send alice "e$i"
  bus_send bob "u$i"
done
export BMAD_AGENT=alice
bus_open
for ((i = 1; i <= 100; i++)); do bus_send bob "batch $i"; done
bus_close`,
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    const entries = (await waitForJournal(root.root, before + 112, 'the messages')).slice(before);
    const expected: string[][] = [];
    for (let i = 1; i <= 3; i++) {
      expected.push(['alice', 'bob', 'message', `a${i}`], ['bob', 'alice', 'message', `b${i}`], ['bob', 'alice', 'event', `e${i}`], ['user', 'bob', 'message', `u${i}`]);
    }
    for (let i = 1; i <= 100; i++) expected.push(['alice', 'bob', 'message', `batch ${i}`]);
    assert.deepEqual(entries.map((e) => [e.from, e.to, e.type, e.body]), expected);
  });

  test('bus_listen receives messages in order and decodes every body exactly', async () => {
    // A fresh agent, so the broadcast of the first test is not in its inbox.
    assert.equal((await cli(['--dir', root.root, 'agents', 'add', 'erin'])).code, 0);
    const out = path.join(path.dirname(root.root), 'erin.out');
    const count = NASTY.length + 200;
    // The handler writes each decoded body NUL-terminated, so any text survives the trip.
    const listener = spawnBash(
      `export BMAD_AGENT=erin
on_msg() { printf '%s\\0' "$MSG_BODY" >>${JSON.stringify(out)}; }
bus_listen -t 30 -n ${count} on_msg`,
      env(),
    );
    children.push(listener);
    const done = finished(listener, 60_000);
    const vars: NodeJS.ProcessEnv = {};
    NASTY.forEach((text, i) => (vars[`NASTY_${i}`] = text));
    const r = await bash(
      `export BMAD_AGENT=alice
for ((i = 0; i < ${NASTY.length}; i++)); do v=NASTY_$i; bus_send erin "\${!v}"; done
for ((i = 1; i <= 200; i++)); do bus_send erin "message $i"; done`,
      { ...env(), ...vars },
    );
    assert.equal(r.code, 0, r.stderr);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    const bodies = fs.readFileSync(out, 'utf8').split('\0').slice(0, -1);
    const expected = [...NASTY, ...Array.from({ length: 200 }, (_, i) => `message ${i + 1}`)];
    assert.deepEqual(bodies, expected);
  });

  test('bus_field and bus_parse pull fields out of JSON lines', async () => {
    const r = await bash(`
line='{"id":"01ABC","from":"alice","to":"bob","type":"task","body":{"to":"nested","s":"}]\\"x"},"thread":"t\\"1","n":-1.5e3,"ok":true}'
bus_field "$line" to; bus_field "$line" body; bus_field "$line" thread; bus_field "$line" n; bus_field "$line" ok
bus_field "$line" missing || echo "missing: $?"
bus_field 'not json' to || echo "not json: $?"
bus_parse '{"id":"x","from":"a","to":"b","type":"message","body":"caf\\u00e9 \\ud83c\\udf89 \\\\u0041 \\/ \\t|"}'
printf '%s|%s|%s|%s|%s\\n' "$MSG_ID" "$MSG_FROM" "$MSG_TO" "$MSG_TYPE" "$MSG_BODY"
bus_field '{"a":1}' a v; echo "into var: $v"`, { LC_ALL: 'C.UTF-8' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'bob',
        '{"to":"nested","s":"}]\\"x"}',
        't"1',
        '-1.5e3',
        'true',
        'missing: 1',
        'not json: 1',
        'x|a|b|message|café 🎉 \\u0041 / \t|',
        'into var: 1',
        '',
      ].join('\n'),
    );
  });

  test('refuses a line over 4096 bytes, and points to bmad-bus send', async () => {
    const before = (await journal(root.root)).length;
    const head = '{"from":"alice","to":"bob","body":"';
    const fits = 4096 - Buffer.byteLength(head) - '"}\n'.length;
    const r = await bash(
      `export BMAD_AGENT=alice
printf -v fits '%*s' ${fits} ''; fits=\${fits// /x}
bus_send bob "$fits"
echo "exactly 4096: ok"
err=$(mktemp); rc=0; bus_send bob "\${fits}y" 2>"$err" || rc=$?
echo "one more byte: $rc"; cat "$err"; rm -f "$err"
# 2-byte characters: counted in bytes, not characters
printf -v wide '%*s' 2100 ''; wide=\${wide// /é}
rc=0; bus_send bob "$wide" 2>/dev/null || rc=$?
echo "2100 x é: $rc"`,
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'exactly 4096: ok');
    assert.equal(lines[1], 'one more byte: 1');
    assert.match(lines[2]!, /4097 bytes .*4096-byte limit .*PIPE_BUF.*`bmad-bus send`/);
    assert.equal(lines[3], '2100 x é: 1');
    const entries = await waitForJournal(root.root, before + 1, 'the 4096-byte message');
    await new Promise((r) => setTimeout(r, 200));
    const added = (await journal(root.root)).slice(before);
    assert.equal(added.length, 1, 'only the message that fits was sent');
    assert.equal((entries[before]!.body as string).length, fits);
  });

  test('concurrent writers of near-4096-byte lines never interleave', async () => {
    const before = (await journal(root.root)).length;
    const writers = 4;
    const per = 100;
    const runs = Array.from({ length: writers }, (_, w) =>
      bash(
        `export BMAD_AGENT=w${w}
printf -v pad '%*s' 3900 ''; pad=\${pad// /${'abcd'[w]}}
for ((i = 0; i < ${per}; i++)); do bus_send bob "$i $pad"; done`,
        env(),
      ),
    );
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
    const entries = (await waitForJournal(root.root, before + writers * per, 'every big line')).slice(before);
    assert.equal(entries.length, writers * per);
    for (let w = 0; w < writers; w++) {
      const mine = entries.filter((e) => e.from === `w${w}`).map((e) => e.body as string);
      assert.equal(mine.length, per);
      mine.forEach((body, i) => assert.equal(body, `${i} ${'abcd'[w]!.repeat(3900)}`));
    }
  });

  test('bus_pipe makes a private pair pipe; the router reads sender and receiver off its name', async () => {
    const before = (await journal(root.root)).length;
    const r = await bash(
      `bus_pipe alice bob p
stat -c '%a %F' "$p"
echo 'raw text on a pair pipe' > "$p"
echo '{"from":"mallory","body":"forged"}' > "$p"
rc=0; bus_pipe a-to b 2>/dev/null || rc=$?; echo "ambiguous: $rc"
rc=0; bus_pipe ../x b 2>/dev/null || rc=$?; echo "bad name: $rc"`,
      env(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '600 fifo\nambiguous: 2\nbad name: 2\n');
    const entries = (await waitForJournal(root.root, before + 2, 'the pair pipe lines')).slice(before);
    assert.deepEqual(
      entries.map((e) => [e.from, e.to, e.type, e.body]),
      [
        ['alice', 'bob', 'text', 'raw text on a pair pipe'],
        ['alice', 'bob', 'message', 'forged'],
      ],
    );
  });

  test('refuses an unsafe root or a pipe that is not a FIFO', async () => {
    const other = tempRoot();
    try {
      assert.equal((await cli(['--dir', other.root, 'init'])).code, 0);
      fs.chmodSync(other.root, 0o755);
      let r = await bash('bus_send bob hi', { BMAD_BUS_DIR: other.root });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /mode 755 lets other users in/);
      fs.chmodSync(other.root, 0o700);
      fs.rmSync(path.join(other.root, 'bus.pipe'));
      fs.writeFileSync(path.join(other.root, 'bus.pipe'), '');
      r = await bash('bus_send bob hi', { BMAD_BUS_DIR: other.root });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /bus\.pipe: expected a FIFO/);
      const link = path.join(path.dirname(other.root), 'link');
      fs.symlinkSync(other.root, link);
      r = await bash('bus_send bob hi', { BMAD_BUS_DIR: link });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /symlink/);
      r = await bash('bus_send "../x" hi', { BMAD_BUS_DIR: root.root });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /expected an address/);
    } finally {
      other.cleanup();
    }
  });

  test('without a router, bus_send falls back to the CLI (accepted) or fails fast with BUS_FALLBACK=fail', async () => {
    const other = tempRoot();
    try {
      assert.equal((await cli(['--dir', other.root, 'init'])).code, 0);
      assert.equal((await cli(['--dir', other.root, 'agents', 'add', 'bob'])).code, 0);
      const r = await bash(
        `BMAD_AGENT=alice bus_send bob 'no router, "still" accepted'
err=$(mktemp); rc=0; BUS_FALLBACK=fail bus_send bob 'refused' 2>"$err" || rc=$?; echo "fail: $rc"; cat "$err"; rm -f "$err"`,
        { BMAD_BUS_DIR: other.root },
        30_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^fail: 1\n.*no router runs/);
      const entries = await journal(other.root);
      assert.deepEqual(entries.map((e) => [e.from, e.body]), [['alice', 'no router, "still" accepted']]);
    } finally {
      other.cleanup();
    }
  });

  test('bus_listen keeps its inbox across a router restart (and skips re-deliveries)', async () => {
    const other = tempRoot();
    let second: RunningRouter | undefined;
    let first: RunningRouter | undefined;
    try {
      assert.equal((await cli(['--dir', other.root, 'init'])).code, 0);
      assert.equal((await cli(['--dir', other.root, 'agents', 'add', 'dave'])).code, 0);
      first = await startRouter(other.root);
      const out = path.join(path.dirname(other.root), 'dave.out');
      const listener = spawnBash(
        `export BMAD_AGENT=dave
on_msg() { printf '%s\\n' "$MSG_BODY" >>${JSON.stringify(out)}; }
bus_listen -t 30 -n 10 on_msg`,
        { BMAD_BUS_DIR: other.root },
      );
      children.push(listener);
      const done = finished(listener, 60_000);
      let r = await bash('for i in 1 2 3 4 5; do bus_send dave "m$i"; done', { BMAD_BUS_DIR: other.root });
      assert.equal(r.code, 0, r.stderr);
      await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8').split('\n').length > 5, 20_000, 'the first five');
      assert.equal(await first.stop(), 0);
      // Router down: these go through the CLI fallback into the journal.
      r = await bash('for i in 6 7 8 9 10; do bus_send dave "m$i"; done', { BMAD_BUS_DIR: other.root });
      assert.equal(r.code, 0, r.stderr);
      second = await startRouter(other.root);
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        fs.readFileSync(out, 'utf8').trim().split('\n'),
        Array.from({ length: 10 }, (_, i) => `m${i + 1}`),
      );
    } finally {
      await first?.stop();
      await second?.stop();
      other.cleanup();
    }
  });
});

function runDemo(env: NodeJS.ProcessEnv): Promise<BashResult> {
  const child = spawn('bash', [path.join(REPO, 'examples', 'demo.sh')], {
    env: { ...process.env, NO_COLOR: '1', BMAD_BUS_DIR: '', BMAD_AGENT: '', BMAD_TMUX_SOCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finished(child, 120_000);
}

function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { timeout: 10_000 }).status === 0;
}

/** Our processes whose command line or environment names any of `needles` (a leak check: the demo's agents carry its root in BMAD_BUS_DIR). */
function processesMentioning(needles: string[]): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') + '\0' + fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (needles.some((n) => text.includes(n))) found.push(`${pid}: ${text.split('\0')[0]}`);
  }
  return found;
}

describe('examples', () => {
  test('examples/two-agents.sh runs end to end and exits 0', async () => {
    const child = spawn('bash', [path.join(REPO, 'examples', 'two-agents.sh')], {
      env: { ...process.env, NO_COLOR: '1', BMAD_BUS_DIR: '', BMAD_AGENT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = await finished(child, 120_000);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /journal 5 pings, 5 pongs; bob got 5 pings, alice got 5 pongs/);
    assert.match(r.stdout, /two-agents: ok/);
  });

  test('examples/demo.sh (npm run demo) runs end to end, ends with a team in tmux on a private server, and leaves nothing behind', async () => {
    const r = await runDemo({});
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /DEAD LETTER invalid_json/);
    assert.match(r.stdout, /demo: ok/);
    const root = /export BMAD_BUS_DIR=(\S+)\/bus\n/.exec(r.stdout)?.[1];
    assert.ok(root, 'the demo names its root');
    assert.ok(!fs.existsSync(root), `${root} is removed`);
    if (!hasTmux()) {
      assert.match(r.stdout, /team part skipped/);
      return;
    }
    // The screens `bmad-bus capture` printed: typed into the lead's pane, handed on, answered.
    assert.match(r.stdout, /=== 0:lead\.0 %\d+ lead \(node\) ===\n(?:.*\n)*? {4}got from user: ship the login page\n/);
    assert.match(r.stdout, /=== 1:dev\.0 %\d+ dev-1 \(node\) ===\n(?:.*\n)*? {4}got from lead: from lead: ship the login page\n/);
    assert.match(r.stdout, /=== 2:qa\.0 %\d+ qa-1 \(node\) ===\n(?:.*\n)*? {4}got from lead: from lead: ship the login page\n/);
    assert.match(r.stdout, /got from dev-1: ack: from lead: ship the login page/);
    assert.match(r.stdout, /got from qa-1: ack: from lead: ship the login page/);
    assert.match(r.stdout, /lead → user {2}message {2}ack: ship the login page/);
    assert.match(r.stdout, /killed 1 sessions \(demo-trio\); unregistered 3 agents/);
    const socket = /private tmux server (bmad-demo-\d+-\d+): gone/.exec(r.stdout)?.[1];
    assert.ok(socket, `the demo says its private server is gone\n${r.stdout}`);
    assert.notEqual(spawnSync('tmux', ['-L', socket, 'has-session'], { timeout: 10_000 }).status, 0, `no tmux server on ${socket}`);
    const uid = process.getuid?.() ?? 0;
    assert.ok(!fs.existsSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${uid}`, socket)), 'its socket file is removed');
    // A pane's program may take a moment to finish dying after kill-server; a leak is one that stays.
    const left = await waitFor(() => {
      const list = processesMentioning([root, socket]);
      return list.length === 0 ? 'none' : undefined;
    }, 3000, 'the demo\'s processes to end').catch(() => processesMentioning([root, socket]).join('\n'));
    assert.equal(left, 'none', 'no process of the demo outlives it (router, agents, tmux)');
    assert.ok(!fs.existsSync(root), `${root} stays removed (a daemon outliving the demo would make it again)`);
  });

  test('examples/demo.sh without tmux skips the team part with a note and exits 0', async () => {
    const r = await runDemo({ BMAD_TMUX_BIN: '/nonexistent/tmux' });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /no tmux >= 3\.2 here \(\/nonexistent\/tmux\), so the team part is skipped/);
    assert.match(r.stdout, /demo: ok — .*; team part skipped/);
    assert.doesNotMatch(r.stdout, /bmad-bus up demo-trio/);
  });
});
