import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Supervisor, SupervisorEvent } from '../../src/team/supervisor.js';
import { waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentLog, agents, agentsStarted, events, librarySupervisor, writeTeam } from './supervisor-helpers.js';

// resource_limits.per_session with `action: restart`: the supervisor (as a library, next to a foreground router)
// restarts an agent that stays over its CPU limit, in place, and says so on the bus.
describe('supervisor: resource limits with action restart', () => {
  const bed = new TmuxBed();
  const { tmux, dir, base } = bed;
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;

  before(async () => {
    bed.start();
    // max_retries 1: one limit restart, then only warnings (the hog spins again after its restart).
    const file = writeTeam(dir, `
version: 1
name: sup-limits
${agentDefaults(dir)}
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
    await bed.up(file);
    await bed.router();
    await agentsStarted(dir, ['quiet', 'hog']);
    ({ supervisor, seen } = librarySupervisor(bed, file, { schedule: false }));
  });
  after(() => bed.close());

  it('a busy-looping agent over cpu_percent is restarted in its pane: restart event on the bus, a new program pid', async () => {
    const registered = await agents(base);
    const hogPane = registered.hog!.tmux!;
    const quietPane = registered.quiet!.tmux!;
    const hogPid = tmux.panePid(hogPane);
    const quietPid = tmux.panePid(quietPane);
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
    await waitFor(() => tmux.panePid(hogPane) !== hogPid, 15_000, 'a new program pid in the hog pane');
    await waitFor(() => agentLog(dir, 'hog').filter((l) => l === 'START').length === 2, 15_000, 'hog started again');
    assert.equal((await agents(base)).hog?.tmux, hogPane);

    // On the bus, to the orchestrator, with the limit as the reason.
    const onBus = await waitFor(async () => events(await bed.journal(), 'restart').find((e) => e.agent === 'hog'), 10_000, 'restart event in the journal');
    assert.equal(onBus.reason, 'over its cpu limit');
    assert.equal(onBus.attempt, 1);
    assert.equal(onBus.max_retries, 1);

    // The agent within its limits is left alone.
    assert.equal(tmux.panePid(quietPane), quietPid);
    assert.ok(!seen.some((e) => e.agent === 'quiet' && (e.event === 'restart' || e.event === 'resource_limit')));
    assert.equal(agentLog(dir, 'quiet').filter((l) => l === 'START').length, 1);
  });
});
