import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli.js';
import { Layout } from '../../src/bus/layout.js';
import { setGroups } from '../../src/bus/registry.js';
import { journalEnd } from '../../src/journal/segments.js';
import { pidAlive } from '../../src/bus/pid-alive.js';
import { BIN, cli, startRouter, tempRoot, waitFor, type CliResult, type RunningRouter } from '../helpers/bus.js';
import { InboxTap, writeFifo } from '../helpers/inbox.js';

type Envelope = { id: string; ts: string; from: string; to: string; type: string; body: unknown; rcpt?: string };

/** Runs the CLI on `root` and asserts it succeeded; returns stdout. */
async function ok(root: string, args: string[], input?: string): Promise<string> {
  const result = await cli(['--dir', root, ...args], input === undefined ? {} : { input });
  assert.equal(result.code, 0, `bmad-bus ${args.join(' ')} failed: ${result.stderr}`);
  assert.equal(result.stderr, '', `bmad-bus ${args.join(' ')} wrote to stderr`);
  return result.stdout;
}

const ndjson = (text: string): Envelope[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Envelope);

/** A long-running CLI child (read --follow, tail): collects stdout, stopped with a signal. */
function runChild(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; stop: () => Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Every command path of the program: ['init'], ['agents'], ['agents', 'add'], ... */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

describe('help and usage', () => {
  test('the program and every command and subcommand answer --help with exit 0', async () => {
    const paths = [[], ...commandPaths(buildProgram())];
    for (const core of [['init'], ['agents', 'add'], ['agents', 'rm'], ['agents', 'list'], ['pipe'], ['send'], ['broadcast'], ['read'], ['tail'], ['router'], ['start'], ['stop'], ['status'], ['prune']]) {
      assert.ok(paths.some((p) => p.join(' ') === core.join(' ')), `command ${core.join(' ')} exists`);
    }
    const results: Array<[string[], CliResult]> = [];
    for (let i = 0; i < paths.length; i += 4) {
      const batch = paths.slice(i, i + 4);
      results.push(...(await Promise.all(batch.map(async (p) => [p, await cli([...p, '--help'])] as [string[], CliResult]))));
    }
    for (const [p, result] of results) {
      assert.equal(result.code, 0, `${p.join(' ')} --help: ${result.stderr}`);
      assert.equal(result.stderr, '', `${p.join(' ')} --help`);
      assert.ok(result.stdout.startsWith(`Usage: bmad-bus${p.length ? ' ' : ''}${p.join(' ')}`), `${p.join(' ')} --help: ${result.stdout.slice(0, 80)}`);
    }
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test('usage errors exit 2 with one line on stderr', async () => {
    const { root, cleanup } = tempRoot();
    try {
      await ok(root, ['init']);
      const cases: Array<[string[], string]> = [
        [['nosuch'], "bmad-bus: unknown command 'nosuch' (run with --help for usage)"],
        [['send'], "bmad-bus: missing required argument 'to' (run with --help for usage)"],
        [['pipe', 'a'], "bmad-bus: missing required argument 'to' (run with --help for usage)"],
        [['read'], "bmad-bus: missing required argument 'agent' (run with --help for usage)"],
        [['agents', 'add'], "bmad-bus: missing required argument 'name' (run with --help for usage)"],
        [['init', 'extra'], "bmad-bus: too many arguments for 'init'. Expected 0 arguments but got 1. (run with --help for usage)"],
        [['send', 'a', 'b', '--bogus'], "bmad-bus: unknown option '--bogus' (run with --help for usage)"],
        [['prune'], "bmad-bus: required option '--older-than <duration>' not specified (run with --help for usage)"],
        [['router', '--durability', 'weird'], "bmad-bus: option '--durability <mode>' argument 'weird' is invalid. Allowed choices are batch, message, never. (run with --help for usage)"],
        [['agents', 'add', 'x', '--deliver', 'fax'], "bmad-bus: option '--deliver <mode>' argument 'fax' is invalid. Allowed choices are inbox, tmux, both, hooks, none. (run with --help for usage)"],
        [['agents', 'add', 'x', '--deliver', 'tmux'], 'bmad-bus: Delivery mode tmux needs a tmux target (--tmux TARGET)'],
        [['agents', 'add', 'x', '--submit-delay', 'soon'], 'bmad-bus: Expected --submit-delay to be milliseconds between 0 and 60000, got `soon`'],
        [['tail', '-n', 'x'], 'bmad-bus: Expected -n to be a whole number, got `x`'],
        [['tail', '--since', 'soon'], 'bmad-bus: Expected --since like 30s, 10m, 2h or 7d, got `soon`'],
        [['send', 'orchestrator'], 'bmad-bus: Nothing to send: give a message, or lines on stdin'],
        [['send', 'orchestrator', 'x', '--type', 'two words'], 'bmad-bus: Invalid type `two words`: expected a word like message, task or event'],
        [['send', 'orchestrator', '{x', '--body-json'], `bmad-bus: --body-json: the message is not valid JSON (${jsonMessage('{x')})`],
        [['send', 'role:', 'x'], 'bmad-bus: Invalid to: expected an agent name, orchestrator, *, role:R, group:G or leader:G, got `role:`'],
        [['read', 'Nobody'], 'bmad-bus: Expected agent name to match [a-z0-9][a-z0-9._-]{0,63}, got `Nobody`'],
      ];
      const results = await Promise.all(cases.map(([args]) => cli(['--dir', root, ...args])));
      cases.forEach(([args, line], i) => {
        const result = results[i]!;
        assert.equal(result.stderr, `${line}\n`, args.join(' '));
        assert.equal(result.code, 2, `${args.join(' ')}: exit code`);
      });
      // Failures that are not usage errors exit 1, also with one line.
      const unknown = await cli(['--dir', root, 'read', 'nobody']);
      assert.deepEqual([unknown.code, unknown.stderr], [1, 'bmad-bus: No agent named `nobody` (see `bmad-bus agents`)\n']);
      const missing = await cli(['--dir', path.join(root, 'nothing-here'), 'status']);
      assert.deepEqual([missing.code, missing.stderr], [1, `bmad-bus: No bus at ${path.join(root, 'nothing-here')} (run \`bmad-bus init\`, or pass --dir / set BMAD_BUS_DIR)\n`]);
      const rm = await cli(['--dir', root, 'agents', 'rm', 'ghost']);
      assert.deepEqual([rm.code, rm.stderr], [1, 'bmad-bus: No agent named `ghost` (see `bmad-bus agents`)\n']);
    } finally {
      cleanup();
    }
  });
});

function jsonMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('agents and init', () => {
  let root: string;
  let cleanup: () => void;
  before(() => ({ root, cleanup } = tempRoot()));
  after(() => cleanup());

  test('init prints the root; BMAD_BUS_DIR picks it when --dir is absent', async () => {
    const result = await cli(['init'], { env: { BMAD_BUS_DIR: root } });
    assert.deepEqual([result.code, result.stdout, result.stderr], [0, `${root}\n`, '']);
    assert.deepEqual(JSON.parse(await ok(root, ['init', '--json'])), { root });
  });

  test('agents add / list / rm', async () => {
    assert.equal(await ok(root, ['agents', 'add', 'dev-1', '--role', 'dev']), `${path.join(root, 'inbox', 'dev-1.pipe')}\n`);
    assert.ok(fs.lstatSync(path.join(root, 'inbox', 'dev-1.pipe')).isFIFO());
    const record = JSON.parse(await ok(root, ['agents', 'add', 'qa-1', '--role', 'qa', '--json'])) as Record<string, unknown>;
    assert.equal(record.name, 'qa-1');
    assert.equal(record.role, 'qa');
    assert.equal(record.deliver, 'inbox');
    const list = JSON.parse(await ok(root, ['agents', 'list', '--json'])) as Array<{ name: string; role?: string }>;
    assert.deepEqual(list.map((a) => [a.name, a.role]), [['dev-1', 'dev'], ['orchestrator', 'orchestrator'], ['qa-1', 'qa']]);
    const table = await ok(root, ['agents']);
    assert.match(table, /^NAME\s+ROLE\s+DELIVER\s+TMUX\s+PROFILE\s+STATE\s+UNDELIVERED\n/);
    assert.match(table, /\ndev-1\s+dev\s+inbox\s+-\s+-\s+-\s+\?\n/);
    assert.equal(await ok(root, ['agents', 'rm', 'qa-1']), '');
    assert.ok(!fs.existsSync(path.join(root, 'inbox', 'qa-1.pipe')));
    assert.deepEqual((JSON.parse(await ok(root, ['agents', '--json'])) as Array<{ name: string }>).map((a) => a.name), ['dev-1', 'orchestrator']);
  });
});

describe('send, the router and its lifecycle', () => {
  let root: string;
  let cleanup: () => void;
  let router: RunningRouter | undefined;
  let inbox: InboxTap | undefined;
  before(async () => {
    ({ root, cleanup } = tempRoot());
    await ok(root, ['init']);
    await ok(root, ['agents', 'add', 'dev-1', '--role', 'dev']);
  });
  after(async () => {
    inbox?.close();
    await router?.stop();
    cleanup();
  });

  test('send while no router runs is accepted durably, then delivered when the router starts', async () => {
    const id = (await ok(root, ['send', 'dev-1', 'sent', 'while', 'down', '--from', 'orchestrator'])).trim();
    assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    const stdinIds = (await ok(root, ['send', 'dev-1', '--type', 'task', '--json'], 'line one\n\nline two\r\n')).trim().split('\n');
    const sent = stdinIds.map((l) => JSON.parse(l) as Envelope);
    assert.deepEqual(sent.map((e) => [e.from, e.to, e.type, e.body]), [['user', 'dev-1', 'task', 'line one'], ['user', 'dev-1', 'task', 'line two']]);
    const bodyJson = (await ok(root, ['send', 'dev-1', '{"n":1}', '--body-json'], undefined)).trim();
    // With no router to pick the agent of a role, the sender picks it (and says so).
    const role = JSON.parse(await ok(root, ['send', 'role:dev', 'any dev', '--json'])) as Envelope;
    assert.equal(role.rcpt, 'dev-1');
    // All of it is in the journal already.
    const status = JSON.parse(await ok(root, ['status', '--json'])) as { router: { running: boolean }; agents: Array<{ name: string; undelivered: number }> };
    assert.equal(status.router.running, false);
    assert.equal(status.agents.find((a) => a.name === 'dev-1')?.undelivered, 5);
    inbox = new InboxTap(path.join(root, 'inbox', 'dev-1.pipe'));
    router = await startRouter(root);
    await waitFor(() => inbox!.messages.length >= 5, 15_000, 'five messages at the inbox');
    assert.deepEqual(inbox.messages.map((m) => m.id), [id, sent[0]!.id, sent[1]!.id, bodyJson, role.id]);
    assert.deepEqual(inbox.messages.map((m) => m.body), ['sent while down', 'line one', 'line two', { n: 1 }, 'any dev']);
    assert.equal(inbox.messages[0]!.from, 'orchestrator');
  });

  test('a second router on the same root exits 1 with a clear message', async () => {
    const second = await cli(['--dir', root, 'router'], { timeoutMs: 30_000 });
    assert.equal(second.code, 1);
    assert.equal(second.stderr, `bmad-bus: A router already runs for ${root} (pid ${router!.child.pid}) (stop it with \`bmad-bus stop\`)\n`);
    assert.equal(second.stdout, '');
    // The first one is unharmed.
    const id = (await ok(root, ['send', 'dev-1', 'still here'])).trim();
    await inbox!.waitFor((m) => m.id === id);
  });

  test('SIGTERM: the router exits 0 with its cursors persisted', async () => {
    const code = await router!.stop('SIGTERM');
    router = undefined;
    assert.equal(code, 0);
    const cursors = JSON.parse(fs.readFileSync(path.join(root, 'state', 'cursors.json'), 'utf8')) as { cursors: Record<string, number>; updated: string };
    assert.equal(cursors.cursors['inbox:dev-1'], journalEnd(path.join(root, 'journal')));
    assert.ok(!Number.isNaN(Date.parse(cursors.updated)));
    const status = JSON.parse(fs.readFileSync(path.join(root, 'state', 'router-status.json'), 'utf8')) as { ready: boolean };
    assert.equal(status.ready, false);
    // A new router resumes from the cursors: nothing is delivered twice after a clean stop.
    const before = inbox!.messages.length;
    router = await startRouter(root);
    const id = (await ok(root, ['send', 'dev-1', 'after restart'])).trim();
    await inbox!.waitFor((m) => m.id === id);
    assert.equal(inbox!.messages.length, before + 1);
    assert.equal(await router.stop('SIGINT'), 0);
    router = undefined;
  });
});

describe('start / status / stop', () => {
  let root: string;
  let cleanup: () => void;
  const pids: number[] = [];
  let inbox: InboxTap | undefined;
  before(async () => {
    ({ root, cleanup } = tempRoot());
    await ok(root, ['init']);
    await ok(root, ['agents', 'add', 'dev-1']);
    await ok(root, ['agents', 'add', 'dev-2']);
  });
  after(async () => {
    inbox?.close();
    // A failed test may leave the daemon behind: stop it by its own pids.
    for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    cleanup();
  });

  type Status = {
    root: string;
    router: { running: boolean; pid?: number; keeper_pid?: number; uptime_s?: number; restarts: number; accepted: number; delivered: number; dead_lettered: number; held: number };
    agents: Array<{ name: string; undelivered: number; waiting?: string }>;
  };
  const status = async () => JSON.parse(await ok(root, ['status', '--json'])) as Status;

  test('start runs the keeper and the router in the background', async () => {
    const started = JSON.parse(await ok(root, ['start', '--json'])) as { root: string; keeper_pid: number; router_pid: number; already_running: boolean };
    pids.push(started.keeper_pid, started.router_pid);
    assert.equal(started.root, root);
    assert.equal(started.already_running, false);
    assert.ok(pidAlive(started.keeper_pid) && pidAlive(started.router_pid));
    const again = await ok(root, ['start']);
    assert.equal(again, `already running: keeper pid ${started.keeper_pid}, router pid ${started.router_pid} (${root})\n`);
    const s = await status();
    assert.equal(s.router.running, true);
    assert.equal(s.router.pid, started.router_pid);
    assert.equal(s.router.keeper_pid, started.keeper_pid);
    assert.equal(s.router.restarts, 0);
    assert.equal(typeof s.router.uptime_s, 'number');
  });

  test('status --json counts accepted, delivered, dead-lettered and undelivered per agent', async () => {
    for (const n of [1, 2, 3]) await ok(root, ['send', 'dev-1', `m${n}`]);
    await ok(root, ['send', 'dev-2', 'for two']);
    const pair = (await ok(root, ['pipe', 'dev-2', 'dev-1'])).trim();
    await writeFifo(pair, '{not json\n');
    const s = await waitFor(async () => {
      const now = await status();
      return now.router.accepted === 4 && now.router.dead_lettered === 1 ? now : undefined;
    }, 15_000, 'counters in status');
    assert.equal(s.router.delivered, 0);
    assert.deepEqual(s.agents.map((a) => [a.name, a.undelivered, a.waiting]), [['dev-1', 3, 'no reader on the inbox'], ['dev-2', 1, 'no reader on the inbox'], ['orchestrator', 0, undefined]]);
    inbox = new InboxTap(path.join(root, 'inbox', 'dev-1.pipe'));
    await inbox.waitFor((m) => m.body === 'm3');
    assert.deepEqual(inbox.messages.map((m) => m.body), ['m1', 'm2', 'm3']);
    const after = await waitFor(async () => {
      const now = await status();
      return now.router.delivered === 3 ? now : undefined;
    }, 15_000, 'delivered count in status');
    assert.deepEqual(after.agents.map((a) => [a.name, a.undelivered]), [['dev-1', 0], ['dev-2', 1], ['orchestrator', 0]]);
    const text = await ok(root, ['status']);
    assert.match(text, new RegExp(`^bus       ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\nrouter    running  pid ${pids[1]} \\(keeper ${pids[0]}\\)`));
    assert.match(text, /\nmessages  accepted 4  delivered 3  dead-lettered 1  held 0\n/);
    assert.match(text, /\ndev-2\s+-\s+inbox\s+-\s+-\s+-\s+1\s+no reader on the inbox\n/);
  });

  test('stop ends both processes; status then says not running', async () => {
    const stopped = await ok(root, ['stop']);
    assert.equal(stopped, `stopped (pids ${pids[0]}, ${pids[1]})\n`);
    assert.ok(!pidAlive(pids[0]!) && !pidAlive(pids[1]!));
    const s = await status();
    assert.equal(s.router.running, false);
    // Offline, undelivered counts come from the journal and the saved cursors.
    assert.deepEqual(s.agents.map((a) => [a.name, a.undelivered]), [['dev-1', 0], ['dev-2', 1], ['orchestrator', 0]]);
    const again = await cli(['--dir', root, 'stop']);
    assert.deepEqual([again.code, again.stderr], [1, `bmad-bus: No router runs for ${root}\n`]);
    assert.match(fs.readFileSync(path.join(root, 'log', 'router.log'), 'utf8'), /dead letter \(invalid_json\) on agents\/dev-2-to-dev-1\.pipe/);
  });
});

describe('read', () => {
  let root: string;
  let cleanup: () => void;
  beforeEach(async () => {
    ({ root, cleanup } = tempRoot());
    await ok(root, ['init']);
    await ok(root, ['agents', 'add', 'dev-1']);
    await ok(root, ['agents', 'add', 'dev-2']);
  });
  afterEach(() => cleanup());

  const bodies = (text: string) => ndjson(text).map((e) => e.body);

  test('read moves the position; --all neither skips nor moves it', async () => {
    for (const n of [1, 2, 3]) await ok(root, ['send', 'dev-1', `m${n}`]);
    await ok(root, ['send', 'dev-2', 'not for dev-1']);
    assert.deepEqual(bodies(await ok(root, ['read', 'dev-1', '--json'])), ['m1', 'm2', 'm3']);
    assert.equal(await ok(root, ['read', 'dev-1', '--json']), '');
    await ok(root, ['send', 'dev-1', 'm4']);
    await ok(root, ['broadcast', 'to everyone', '--from', 'dev-2']);
    assert.deepEqual(bodies(await ok(root, ['read', 'dev-1', '--all', '--json'])), ['m1', 'm2', 'm3', 'm4', 'to everyone']);
    assert.deepEqual(bodies(await ok(root, ['read', 'dev-1', '--json'])), ['m4', 'to everyone']);
    assert.deepEqual(bodies(await ok(root, ['read', 'dev-2', '--json'])), ['not for dev-1']);
    const text = await ok(root, ['read', 'dev-1', '--all']);
    assert.match(text.split('\n')[0]!, /^\d\d:\d\d:\d\d\.\d{3} {2}user → dev-1 {2}message  m1$/);
  });

  test('read --follow gets a message sent later', async () => {
    await ok(root, ['send', 'dev-1', 'earlier']);
    const follower = runChild(['--dir', root, 'read', 'dev-1', '--follow', '--json']);
    try {
      await waitFor(() => follower.stdout().includes('earlier'), 15_000, 'the earlier message');
      const id = (await ok(root, ['send', 'dev-1', 'later'])).trim();
      await waitFor(() => ndjson(follower.stdout()).some((e) => e.id === id), 15_000, 'the later message');
      assert.deepEqual(bodies(follower.stdout()), ['earlier', 'later']);
    } finally {
      assert.equal(await follower.stop(), 0, follower.stderr());
    }
    assert.equal(follower.stderr(), '');
    // The follower saved its position when it stopped.
    assert.equal(await ok(root, ['read', 'dev-1', '--json']), '');
  });
});

describe('tail', () => {
  let root: string;
  let cleanup: () => void;
  let router: RunningRouter | undefined;
  before(async () => {
    ({ root, cleanup } = tempRoot());
    await ok(root, ['init']);
    await ok(root, ['agents', 'add', 'dev-1']);
    await ok(root, ['agents', 'add', 'qa-1']);
    await ok(root, ['send', 'dev-1', 'one', '--from', 'orchestrator']);
    await ok(root, ['send', 'qa-1', 'two', '--from', 'dev-1', '--type', 'task']);
    await ok(root, ['send', 'dev-1', '{"k":[1,2]}', '--from', 'qa-1', '--type', 'result', '--body-json']);
    await ok(root, ['send', 'orchestrator', `multi\nline ${'x'.repeat(300)}`, '--from', 'dev-1']);
  });
  after(async () => {
    await router?.stop();
    cleanup();
  });

  test('--no-follow -n N: the last N messages, one readable line each', async () => {
    const out = await ok(root, ['tail', '--no-follow', '-n', '3']);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    const time = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';
    assert.match(lines[0]!, new RegExp(`^${time} {2}dev-1 → qa-1 {2}task {5}two$`));
    assert.match(lines[1]!, new RegExp(`^${time} {2}qa-1 → dev-1 {2}result {3}\\{"k":\\[1,2\\]\\}$`));
    // Bodies are one line (newlines shown as ⏎) and shortened.
    assert.match(lines[2]!, new RegExp(`^${time} {2}dev-1 → orchestrator {2}message  multi⏎line x+…$`));
    assert.ok(!lines[2]!.includes('\x1b'), 'no colour when not a TTY');
    assert.equal((await ok(root, ['tail', '--no-follow'])).trimEnd().split('\n').length, 4);
    assert.equal(await ok(root, ['tail', '--no-follow', '-n', '0']), '');
  });

  test('--json prints the journal lines; --from / --to / --type filter', async () => {
    const all = ndjson(await ok(root, ['tail', '--no-follow', '--json']));
    assert.deepEqual(all.map((e) => e.body), ['one', 'two', { k: [1, 2] }, `multi\nline ${'x'.repeat(300)}`]);
    const journal = fs.readFileSync(path.join(root, 'journal', fs.readdirSync(path.join(root, 'journal'))[0]!), 'utf8');
    assert.equal(await ok(root, ['tail', '--no-follow', '--json', '-n', '100']), journal);
    assert.deepEqual(ndjson(await ok(root, ['tail', '--no-follow', '--json', '--from', 'dev-1'])).map((e) => e.body), ['two', `multi\nline ${'x'.repeat(300)}`]);
    assert.deepEqual(ndjson(await ok(root, ['tail', '--no-follow', '--json', '--to', 'dev-1'])).map((e) => e.body), ['one', { k: [1, 2] }]);
    assert.deepEqual(ndjson(await ok(root, ['tail', '--no-follow', '--json', '--type', 'task'])).map((e) => e.body), ['two']);
    assert.deepEqual(ndjson(await ok(root, ['tail', '--no-follow', '--json', '--from', 'dev-1', '--type', 'task', '--to', 'qa-1'])).map((e) => e.body), ['two']);
    assert.equal(await ok(root, ['tail', '--no-follow', '--json', '--from', 'nobody']), '');
    assert.equal(ndjson(await ok(root, ['tail', '--no-follow', '--json', '--since', '1h'])).length, 4);
  });

  test('dead letters are shown, marked; filters on messages hide them', async () => {
    router = await startRouter(root);
    const pair = (await ok(root, ['pipe', 'qa-1', 'dev-1'])).trim();
    await writeFifo(pair, '{"body": broken}\n');
    const deadFile = path.join(root, 'deadletter.ndjson');
    await waitFor(() => fs.existsSync(deadFile) && fs.readFileSync(deadFile, 'utf8').endsWith('\n'), 15_000, 'the dead letter');
    const lines = (await ok(root, ['tail', '--no-follow', '-n', '2'])).trimEnd().split('\n');
    assert.match(lines[1]!, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} {2}DEAD LETTER invalid_json on agents/qa-1-to-dev-1\\.pipe: ${escape(`Invalid JSON: ${jsonMessage('{"body": broken}')}`)} {2}\\{"body": broken\\}$`));
    const json = (await ok(root, ['tail', '--no-follow', '--json', '-n', '1'])).trim();
    const dead = (JSON.parse(json) as { dead_letter: { reason: string; pipe: string; line: string } }).dead_letter;
    assert.deepEqual([dead.reason, dead.pipe, dead.line], ['invalid_json', 'agents/qa-1-to-dev-1.pipe', '{"body": broken}']);
    assert.ok(!(await ok(root, ['tail', '--no-follow', '--from', 'dev-1'])).includes('DEAD LETTER'));
  });

  test('tail follows new messages and dead letters live, and exits 0 on SIGTERM', async () => {
    router ??= await startRouter(root);
    const tail = runChild(['--dir', root, 'tail', '-n', '0']);
    try {
      // tail starts following at the end it saw at start; wait until it runs before sending.
      await new Promise((r) => setTimeout(r, 300));
      const id = (await ok(root, ['send', 'qa-1', 'live one', '--from', 'dev-1'])).trim();
      await waitFor(() => tail.stdout().includes('live one'), 15_000, 'the live message');
      assert.match(tail.stdout(), /dev-1 → qa-1 {2}message  live one\n/);
      assert.ok(id);
      await writeFifo(path.join(root, 'agents', 'qa-1-to-dev-1.pipe'), Buffer.from([0xff, 0x0a]));
      await waitFor(() => tail.stdout().includes('DEAD LETTER binary'), 15_000, 'the live dead letter');
      assert.match(tail.stdout(), /DEAD LETTER binary on agents\/qa-1-to-dev-1\.pipe: Line is not valid UTF-8 text \(binary data\?\) {2}<1 bytes of binary>\n/);
    } finally {
      assert.equal(await tail.stop(), 0, tail.stderr());
    }
    assert.equal(tail.stderr(), '');
  });
});

describe('role: without a router', () => {
  test('four sends with no router go round robin, and a router started after them goes on from there', async () => {
    const { root, cleanup } = tempRoot();
    let router: RunningRouter | undefined;
    try {
      await ok(root, ['init']);
      for (const name of ['a', 'b', 'c']) await ok(root, ['agents', 'add', name, '--role', 'dev']);
      for (const n of [1, 2, 3, 4]) await ok(root, ['send', 'role:dev', `job ${n}`]);
      const rcpts = async () => ndjson(await ok(root, ['tail', '--no-follow', '--json', '--to', 'role:dev'])).map((e) => e.rcpt);
      assert.deepEqual(await rcpts(), ['a', 'b', 'c', 'a'], 'the same round robin as the router, across processes');
      router = await startRouter(root);
      await ok(root, ['send', 'role:dev', 'job 5']);
      await waitFor(async () => (await rcpts()).length === 5, 10_000, 'job 5 journaled');
      assert.deepEqual(await rcpts(), ['a', 'b', 'c', 'a', 'b'], 'the router takes the turn where the sends left it');
      await router.stop();
      router = undefined;
      // A damaged position file costs the balance, never a message.
      fs.writeFileSync(path.join(root, 'state', 'role-turns.json'), '{not json');
      await ok(root, ['send', 'role:dev', 'job 6']);
      assert.equal((await rcpts()).length, 6);
    } finally {
      await router?.stop();
      cleanup();
    }
  });
});

describe('addressing: broadcast, pair pipes from the shell, role: and group:', () => {
  let root: string;
  let cleanup: () => void;
  let router: RunningRouter | undefined;
  const taps = new Map<string, InboxTap>();
  before(async () => {
    ({ root, cleanup } = tempRoot());
    await ok(root, ['init']);
    for (const [name, role] of [['a', 'dev'], ['b', 'dev'], ['c', 'qa']]) await ok(root, ['agents', 'add', name, '--role', role!]);
    await setGroups(new Layout(root), { web: { leader: 'c', members: ['a', 'b', 'c'] } });
    for (const name of ['a', 'b', 'c', 'orchestrator']) taps.set(name, new InboxTap(path.join(root, 'inbox', `${name}.pipe`)));
    router = await startRouter(root);
  });
  after(async () => {
    for (const tap of taps.values()) tap.close();
    await router?.stop();
    cleanup();
  });

  const tap = (name: string) => taps.get(name)!;
  /** Sends `to` a marker from `from` directly and waits for it: everything routed before it has arrived. */
  const settle = async (name: string) => {
    const id = (await ok(root, ['send', name, 'marker', '--from', 'orchestrator'])).trim();
    await tap(name).waitFor((m) => m.id === id);
  };

  test('broadcast reaches every agent but the sender', async () => {
    const id = (await ok(root, ['broadcast', 'hello all', '--from', 'a'])).trim();
    for (const name of ['b', 'c', 'orchestrator']) {
      const got = await tap(name).waitFor((m) => m.id === id, 15_000, `the broadcast at ${name}`);
      assert.deepEqual([got.from, got.to, got.body], ['a', '*', 'hello all']);
    }
    await settle('a');
    assert.ok(!tap('a').messages.some((m) => m.id === id), 'the sender does not get its own broadcast');
  });

  test('`pipe a b` creates the FIFO; a shell echo into it arrives from a to b', async () => {
    const file = path.join(root, 'agents', 'a-to-b.pipe');
    assert.equal(await ok(root, ['pipe', 'a', 'b']), `${file}\n`);
    assert.ok(fs.lstatSync(file).isFIFO());
    assert.equal(await ok(root, ['pipe', 'a', 'b']), `${file}\n`, 'idempotent');
    const shell = spawn('sh', ['-c', `echo "hi from the shell" > "$("${process.execPath}" "${BIN}" --dir "${root}" pipe a b)" && echo '{"type":"event","body":{"x":1}}' > "${file}"`], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => shell.on('exit', resolve));
    assert.equal(code, 0);
    const text = await tap('b').waitFor((m) => m.body === 'hi from the shell');
    assert.deepEqual([text.from, text.to, text.type], ['a', 'b', 'text']);
    const event = await tap('b').waitFor((m) => m.type === 'event');
    assert.deepEqual([event.from, event.to, event.body], ['a', 'b', { x: 1 }]);
    // orchestrator.pipe and broadcast.pipe work from the shell too.
    const shell2 = spawn('sh', ['-c', `echo "to the boss" > "${root}/orchestrator.pipe"; echo '{"from":"c","body":"shout"}' > "${root}/broadcast.pipe"`], { stdio: 'ignore' });
    assert.equal(await new Promise<number | null>((resolve) => shell2.on('exit', resolve)), 0);
    const boss = await tap('orchestrator').waitFor((m) => m.body === 'to the boss');
    assert.deepEqual([boss.from, boss.to, boss.type], ['user', 'orchestrator', 'text']);
    for (const name of ['a', 'b', 'orchestrator']) await tap(name).waitFor((m) => m.body === 'shout');
    await settle('c');
    assert.ok(!tap('c').messages.some((m) => m.body === 'shout'));
  });

  test('role: picks one live agent of the role, in turn, and records the choice', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4]) ids.push((await ok(root, ['send', 'role:dev', `job ${n}`])).trim());
    await waitFor(() => ids.every((id) => tap('a').messages.some((m) => m.id === id) || tap('b').messages.some((m) => m.id === id)), 15_000, 'every job at a or b');
    const at = ids.map((id) => (tap('a').messages.some((m) => m.id === id) ? 'a' : 'b'));
    // Exactly one agent each, alternating.
    for (const id of ids) assert.ok(!(tap('a').messages.some((m) => m.id === id) && tap('b').messages.some((m) => m.id === id)));
    assert.deepEqual(at.filter((x) => x === 'a').length, 2);
    assert.notEqual(at[0], at[1]);
    const journal = ndjson(await ok(root, ['tail', '--no-follow', '--json', '--to', 'role:dev']));
    assert.deepEqual(journal.map((e) => e.rcpt), at);
    // tail --to NAME also finds role messages chosen for NAME.
    assert.equal(ndjson(await ok(root, ['tail', '--no-follow', '--json', '--to', 'a', '--type', 'message'])).filter((e) => e.to === 'role:dev').length, 2);
    await settle('c');
    assert.ok(!tap('c').messages.some((m) => ids.includes(String(m.id))));
  });

  test('group: reaches the members but the sender; leader: the leader only', async () => {
    const id = (await ok(root, ['send', 'group:web', 'team meeting', '--from', 'a'])).trim();
    for (const name of ['b', 'c']) await tap(name).waitFor((m) => m.id === id, 15_000, `the group message at ${name}`);
    const lead = (await ok(root, ['send', 'leader:web', 'for the lead', '--from', 'a'])).trim();
    await tap('c').waitFor((m) => m.id === lead);
    await settle('a');
    await settle('b');
    assert.ok(!tap('a').messages.some((m) => m.id === id || m.id === lead));
    assert.ok(!tap('b').messages.some((m) => m.id === lead));
    assert.ok(!tap('orchestrator').messages.some((m) => m.id === id || m.id === lead));
    // read agrees with the router on who a message is for.
    const read = ndjson(await ok(root, ['read', 'c', '--all', '--json'])).map((e) => e.id);
    assert.ok(read.includes(id) && read.includes(lead));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
