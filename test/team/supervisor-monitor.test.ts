import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import type { SupervisorEvent } from '../../src/team/supervisor.js';
import { addTask, readTasks } from '../../src/team/tasks.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentLog, agentsStarted, librarySupervisor, waitForStatus, writeTeam } from './supervisor-helpers.js';

// The supervisor as a library, next to a foreground router: idle detection, resource limits, the task loop.
describe('supervisor: idle, resource limits, scheduler and results', () => {
  const bed = new TmuxBed();
  const { dir, root, base } = bed;
  let seen: SupervisorEvent[] = [];

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
version: 1
name: sup-monitor
${agentDefaults(dir)}
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
    await bed.up(file);
    await bed.router();
    await agentsStarted(dir, ['quiet', 'hog']);
    const library = librarySupervisor(bed, file);
    seen = library.seen;
    await library.supervisor.start();
  });
  after(() => bed.close());

  it('an agent whose pane shows nothing new for idle_timeout is idle; output makes it running again', async () => {
    await waitForStatus(base, 'quiet', 'idle');
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
    await waitFor(() => agentLog(dir, 'quiet').some((l) => l.includes('write the parser')), 10_000, 'task message pasted');
    const body = JSON.stringify({ task: task.id, result: 'parsed' });
    assert.equal((await cli(['send', 'orchestrator', body, '--body-json', '--type', 'result', '--from', 'quiet', ...base])).code, 0);
    const done = await waitFor(() => readTasks(layout).tasks.find((t) => t.id === task.id && t.status === 'done'), 10_000, 'done');
    assert.equal(done.result, 'parsed');
  });
});
