import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../src/bus/layout.js';
import { Supervisor, type SupervisorEvent } from '../src/team/supervisor.js';
import { loadTopology } from '../src/team/topology.js';
import { cli, startRouter, tempDir, waitFor, type RunningRouter } from './helpers/bus.js';
import { TestTmux } from './helpers/tmux.js';
import { agentLog, agents, events, journal, writeTeam } from './supervisor-helpers.js';

// resource_limits.per_session with `action: restart`: the supervisor (as a library, next to a foreground router)
// restarts an agent that stays over its CPU limit, in place, and says so on the bus.
describe('supervisor: resource limits with action restart', () => {
  const tmux = new TestTmux();
  const tmp = tempDir();
  const root = path.join(tmp.dir, 'bus');
  const base = ['--dir', root, '--tmux-socket', tmux.socket];
  const seen: SupervisorEvent[] = [];
  let router: RunningRouter | undefined;
  let supervisor: Supervisor | undefined;

  const panePid = (pane: string): number => Number(tmux.run(['display-message', '-p', '-t', pane, '#{pane_pid}']));

  before(async () => {
    tmux.start();
    // max_retries 1: one limit restart, then only warnings (the hog spins again after its restart).
    const file = writeTeam(tmp.dir, `
version: 1
name: sup-limits
defaults:
  command: node agent.mjs
  cwd: .
  submit_delay: 30ms
  env: { AGENT_LOG_DIR: ${JSON.stringify(path.join(tmp.dir, 'logs'))} }
supervisor:
  health_interval: 200ms
  max_retries: 1
  backoff: 100ms
resource_limits:
  per_session: { cpu_percent: 40, action: restart }
sessions:
  - name: limteam
    windows:
      - name: quiet
        panes: [{ name: quiet, role: dev }]
      - name: hog
        panes: [{ name: hog, role: hog, env: { AGENT_MODE: busy } }]
`);
    const up = await cli(['up', file, '--no-router', ...base], { timeoutMs: 30_000 });
    assert.equal(up.code, 0, up.stderr);
    router = await startRouter(root, ['--tmux-socket', tmux.socket]);
    await waitFor(() => agentLog(tmp.dir, 'quiet').includes('START') && agentLog(tmp.dir, 'hog').includes('START'), 10_000, 'agents started');
    supervisor = new Supervisor(new Layout(root), { topology: loadTopology(file), socket: tmux.socket, schedule: false, log: () => undefined });
    supervisor.on('event', (event) => seen.push(event));
  });
  after(async () => {
    await supervisor?.close();
    await router?.stop();
    await cli(['down', '--all', ...base]).catch(() => undefined);
    tmux.kill();
    tmp.cleanup();
  });

  it('a busy-looping agent over cpu_percent is restarted in its pane: restart event on the bus, a new program pid', async () => {
    const registered = await agents(base);
    const hogPane = registered.hog!.tmux!;
    const quietPane = registered.quiet!.tmux!;
    const hogPid = panePid(hogPane);
    const quietPid = panePid(quietPane);
    await supervisor!.start();

    const restart = await waitFor(() => seen.find((e) => e.event === 'restart'), 20_000, 'restart event');
    assert.equal(restart.agent, 'hog');
    assert.equal(restart.event === 'restart' && restart.reason, 'over its cpu limit');
    assert.equal(restart.event === 'restart' && restart.pane, hogPane, 'restarted in place');
    const limit = seen.find((e) => e.event === 'resource_limit');
    assert.ok(limit && limit.event === 'resource_limit', 'a resource_limit event came first');
    assert.equal(limit.agent, 'hog');
    assert.equal(limit.kind, 'cpu');
    assert.equal(limit.action, 'restart');
    assert.equal(limit.limit, 40);

    // The pane is the same, the program in it is new.
    await waitFor(() => panePid(hogPane) !== hogPid, 15_000, 'a new program pid in the hog pane');
    await waitFor(() => agentLog(tmp.dir, 'hog').filter((l) => l === 'START').length === 2, 15_000, 'hog started again');
    assert.equal((await agents(base)).hog?.tmux, hogPane);

    // On the bus, to the orchestrator, with the limit as the reason.
    const onBus = await waitFor(async () => events(await journal(base), 'restart').find((e) => e.agent === 'hog'), 10_000, 'restart event in the journal');
    assert.equal(onBus.reason, 'over its cpu limit');
    assert.equal(onBus.attempt, 1);
    assert.equal(onBus.max_retries, 1);

    // The agent within its limits is left alone.
    assert.equal(panePid(quietPane), quietPid);
    assert.ok(!seen.some((e) => e.agent === 'quiet' && (e.event === 'restart' || e.event === 'resource_limit')));
    assert.equal(agentLog(tmp.dir, 'quiet').filter((l) => l === 'START').length, 1);
  });
});
