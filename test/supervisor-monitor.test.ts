import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../src/bus/layout.js';
import { Supervisor, type SupervisorEvent } from '../src/team/supervisor.js';
import { addTask, readTasks } from '../src/team/tasks.js';
import { loadTopology } from '../src/team/topology.js';
import { cli, startRouter, tempDir, waitFor, type RunningRouter } from './helpers/bus.js';
import { TestTmux } from './helpers/tmux.js';
import { agentLog, agents, writeTeam } from './supervisor-helpers.js';

// The supervisor as a library, next to a foreground router: idle detection, resource limits, the task loop.
describe('supervisor: idle, resource limits, scheduler and results', () => {
  const tmux = new TestTmux();
  const tmp = tempDir();
  const root = path.join(tmp.dir, 'bus');
  const base = ['--dir', root, '--tmux-socket', tmux.socket];
  const seen: SupervisorEvent[] = [];
  let router: RunningRouter | undefined;
  let supervisor: Supervisor | undefined;

  before(async () => {
    tmux.start();
    const file = writeTeam(tmp.dir, `
version: 1
name: sup-monitor
defaults:
  command: node agent.mjs
  cwd: .
  submit_delay: 30ms
  env: { AGENT_LOG_DIR: ${JSON.stringify(path.join(tmp.dir, 'logs'))} }
supervisor:
  health_interval: 200ms
  idle_timeout: 1500ms
resource_limits:
  per_session: { cpu_percent: 40, action: warn }
sessions:
  - name: monteam
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
    supervisor = new Supervisor(new Layout(root), { topology: loadTopology(file), socket: tmux.socket, log: () => undefined });
    supervisor.on('event', (event) => seen.push(event));
    await supervisor.start();
  });
  after(async () => {
    await supervisor?.close();
    await router?.stop();
    await cli(['down', '--all', ...base]).catch(() => undefined);
    tmux.kill();
    tmp.cleanup();
  });

  it('an agent whose pane shows nothing new for idle_timeout is idle; output makes it running again', async () => {
    await waitFor(async () => (await agents(base)).quiet?.status === 'idle', 10_000, 'quiet idle');
    assert.ok(seen.some((e) => e.event === 'idle' && e.agent === 'quiet'));
    const idleEvents = seen.length;
    assert.equal((await cli(['send', 'quiet', 'wake up', '--from', 'tester', ...base])).code, 0);
    // The registry may flip back to idle 1.5 s later: the event is the lasting evidence.
    await waitFor(() => seen.slice(idleEvents).some((e) => e.event === 'active' && e.agent === 'quiet'), 20_000, 'quiet running again');
  });

  it('a busy-looping agent over its CPU limit triggers a warning event on the bus', async () => {
    const event = await waitFor(() => seen.find((e) => e.event === 'resource_limit'), 10_000, 'resource_limit event');
    assert.equal(event.agent, 'hog');
    assert.equal(event.event === 'resource_limit' && event.kind, 'cpu');
    assert.equal(event.event === 'resource_limit' && event.action, 'warn');
    assert.ok(!seen.some((e) => e.event === 'resource_limit' && e.agent === 'quiet'));
    const tail = await cli(['tail', '--no-follow', '-n', '1000', '--json', '--type', 'event', ...base]);
    assert.match(tail.stdout, /"from":"supervisor","to":"orchestrator","type":"event","body":\{"event":"resource_limit","agent":"hog"/);
  });

  it('the scheduler loop assigns a ready task, and a result message from the agent completes it', async () => {
    const layout = new Layout(root);
    const task = await addTask(layout, { title: 'write the parser', role: 'dev' });
    const assigned = await waitFor(() => readTasks(layout).tasks.find((t) => t.id === task.id && t.status === 'assigned'), 10_000, 'assigned');
    assert.equal(assigned.assignee, 'quiet');
    await waitFor(() => agentLog(tmp.dir, 'quiet').some((l) => l.includes('write the parser')), 10_000, 'task message pasted');
    const body = JSON.stringify({ task: task.id, result: 'parsed' });
    assert.equal((await cli(['send', 'orchestrator', body, '--body-json', '--type', 'result', '--from', 'quiet', ...base])).code, 0);
    const done = await waitFor(() => readTasks(layout).tasks.find((t) => t.id === task.id && t.status === 'done'), 10_000, 'done');
    assert.equal(done.result, 'parsed');
  });
});
