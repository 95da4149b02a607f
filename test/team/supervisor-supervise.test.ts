import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentLog, agents, agentsStarted, events, writeTeam } from './supervisor-helpers.js';

interface Foreground {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Sends `signal` and waits for the exit; SIGKILL after 10 s. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `bmad-bus supervise ...` in the foreground as a child process (no IPC channel, as a user runs it). */
function startSupervise(args: string[], env: NodeJS.ProcessEnv): Foreground {
  const child = spawn(process.execPath, [BIN, 'supervise', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

// `bmad-bus supervise` as users run it by hand, next to a foreground router: what it prints,
// the periodic checkpoints it writes (into a temp dir only), and a clean exit on SIGTERM.
describe('bmad-bus supervise in the foreground: output, checkpoints, SIGTERM', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  const checkpoints = path.join(dir, 'checkpoints');
  // Checkpoints go to the temp dir; XDG_STATE_HOME too, so nothing can reach the real ~/.local/state.
  const env = { BMAD_CHECKPOINT_DIR: checkpoints, XDG_STATE_HOME: path.join(dir, 'state') };
  let file = '';

  const supervise = (extra: string[] = []): Foreground => {
    const fg = startSupervise(['--topology', file, '--interval', '300ms', ...extra, ...base], env);
    bed.onClose(() => fg.stop('SIGKILL'));
    return fg;
  };
  /** Kills the worker's program; the supervisor must start it again. */
  const killWorker = async (): Promise<void> => {
    const pane = (await agents(base)).worker!.tmux!;
    process.kill(tmux.panePid(pane), 'SIGKILL');
  };

  before(async () => {
    bed.start();
    file = writeTeam(dir, `
version: 1
name: sup-cli
${agentDefaults(dir)}
supervisor:
  health_interval: 5s
  max_retries: 5
  backoff: 100ms
  checkpoint_interval: 1s
sessions:
  - name: cliteam
    windows:
      - name: worker
        panes: [{ name: worker, role: dev }]
`);
    await bed.up(file, { env });
    await bed.router(env);
    await agentsStarted(dir, ['worker']);
  });
  after(() => bed.close());

  it('starts, prints a ready line and one text line per event, writes periodic checkpoints, and exits 0 on SIGTERM', async () => {
    const fg = supervise();
    const ready = await waitFor(() => lines(fg.stderr()).find((l) => l.startsWith('bmad-bus supervisor ready')), 15_000, 'ready line');
    assert.equal(ready, `bmad-bus supervisor ready pid=${fg.child.pid} topology=${file} interval=300ms`, '--interval overrides health_interval');

    const starts = agentLog(dir, 'worker').filter((l) => l === 'START').length;
    await killWorker();
    const line = await waitFor(() => lines(fg.stdout()).find((l) => l.includes('restarting worker')), 15_000, `restart line\n${fg.stderr()}`);
    assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z restarting worker \(pane dead( \(signal 9\))?; attempt 1\/5, pane %\d+\)$/);
    await waitFor(() => agentLog(dir, 'worker').filter((l) => l === 'START').length === starts + 1, 15_000, 'worker started again');
    assert.ok(events(await bed.journal(), 'restart').some((e) => e.agent === 'worker' && /^pane dead( \(signal 9\))?$/.test(String(e.reason))), 'the event is on the bus too');

    // A checkpoint of the team, in BMAD_CHECKPOINT_DIR, logged on stderr.
    const written = await waitFor(() => (fs.existsSync(checkpoints) ? fs.readdirSync(checkpoints).filter((f) => f.endsWith('.json')) : []).at(0), 15_000, 'a checkpoint file');
    const checkpoint = JSON.parse(fs.readFileSync(path.join(checkpoints, written), 'utf8')) as {
      kind: string; version: number; root: string; socket?: string; topology?: string; sessions: Array<{ name: string; windows: Array<{ panes: Array<{ agent?: string }> }> }>; agents: Record<string, unknown>;
    };
    assert.equal(checkpoint.kind, 'bmad-bus-checkpoint');
    assert.equal(checkpoint.version, 1);
    assert.equal(checkpoint.root, root);
    assert.equal(checkpoint.socket, tmux.socket);
    assert.equal(checkpoint.topology, file);
    assert.deepEqual(checkpoint.sessions.map((s) => s.name), ['cliteam'], 'only the team session, not the bystander');
    assert.ok(checkpoint.sessions[0]!.windows.some((w) => w.panes.some((p) => p.agent === 'worker')));
    assert.ok(checkpoint.agents.worker);
    await waitFor(() => fg.stderr().includes(`checkpoint written: ${path.join(checkpoints, written)}`), 10_000, 'checkpoint logged');
    assert.equal(fs.statSync(checkpoints).mode & 0o777, 0o700);

    // One supervisor per bus: a second one would restart the same panes twice.
    const second = supervise();
    const code = await new Promise<number | null>((resolve) => second.child.on('exit', (c) => resolve(c)));
    assert.equal(code, 1, second.stderr());
    assert.match(second.stderr(), /^bmad-bus: A supervisor already runs for .* \(the daemon's, or another `bmad-bus supervise`\)\n$/);

    const exit = await fg.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, fg.stderr());
  });

  it('with --json prints each event as one JSON object per line, and exits 0 on SIGTERM', async () => {
    const fg = supervise(['--json']);
    await waitFor(() => fg.stderr().includes('bmad-bus supervisor ready'), 15_000, 'ready line');
    const starts = agentLog(dir, 'worker').filter((l) => l === 'START').length;
    await killWorker();
    const event = await waitFor(() => lines(fg.stdout()).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'restart'), 15_000, `restart event\n${fg.stderr()}`);
    assert.equal(event.agent, 'worker');
    assert.match(String(event.reason), /^pane dead( \(signal 9\))?$/, 'how it ended, when tmux knows');
    assert.equal(event.attempt, 1, 'a new supervisor starts counting afresh');
    assert.equal(event.max_retries, 5);
    assert.match(String(event.pane), /^%\d+$/);
    await waitFor(() => agentLog(dir, 'worker').filter((l) => l === 'START').length === starts + 1, 15_000, 'worker started again');

    const exit = await fg.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, fg.stderr());
    for (const l of lines(fg.stdout())) assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
  });
});
