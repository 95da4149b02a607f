import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentLog, agents, agentsStarted, events, waitForStatus, writeTeam } from './supervisor-helpers.js';

// The supervisor as users run it: `up` starts the daemon with the team file, the keeper runs `supervise`.
describe('supervisor in the daemon: restart, restore, failure, role addressing', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  let file = '';
  let supervisorPid: number | undefined;

  before(() => {
    bed.start();
    // The daemon: stopped at the end, and its supervisor killed should it outlive the stop.
    bed.onClose(() => {
      if (!supervisorPid) return;
      try {
        process.kill(supervisorPid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    });
    bed.onClose(() => cli(['stop', ...base]));
    file = writeTeam(dir, `
version: 1
name: sup-restart
${agentDefaults(dir, { deliver: 'tmux' })}
supervisor:
  health_interval: 300ms
  max_retries: 3
  backoff: 100ms
  restore_prompt: "RESTORE-PROMPT: pick up your work"
sessions:
  - name: supteam
    windows:
      - name: orchestrator
        panes: [{ name: orchestrator, role: orchestrator }]
      - name: worker
        panes: [{ name: worker, role: dev }]
      - name: crasher
        panes: [{ name: crasher, role: dev, env: { AGENT_MODE: crash } }]
agent_groups:
  devs:
    leader: worker
    members: [worker, crasher]
`);
  });
  after(() => bed.close());

  it('up starts the router and, under the same keeper, the supervisor', async () => {
    await bed.up(file, { args: [] });
    const keeper = await waitFor(() => {
      const status = JSON.parse(fs.readFileSync(path.join(root, 'state', 'keeper.json'), 'utf8')) as { supervisor_pid?: number };
      return status.supervisor_pid ? status : undefined;
    }, 10_000, 'keeper reports a supervisor');
    supervisorPid = keeper.supervisor_pid;
    await agentsStarted(dir, ['worker']);
    await waitForStatus(base, 'worker', 'running');
  });

  it('an agent that dies every time is restarted 3 times, then marked failed, and the orchestrator is told', async () => {
    await waitForStatus(base, 'crasher', 'failed', 20_000);
    assert.equal(agentLog(dir, 'crasher').filter((l) => l === 'START').length, 4, 'the first start and 3 restarts');
    const entries = await bed.journal();
    assert.equal(events(entries, 'restart').filter((e) => e.agent === 'crasher').length, 3);
    const failed = events(entries, 'failed').filter((e) => e.agent === 'crasher');
    assert.equal(failed.length, 1);
    assert.equal(entries.find((e) => e.type === 'event' && (e.body as { event?: string }).event === 'failed')?.to, 'orchestrator');
    await waitFor(() => agentLog(dir, 'orchestrator').some((l) => l.includes('"event":"failed"') && l.includes('crasher')), 10_000, 'orchestrator pane got it');
    const status = await cli(['status', ...base]);
    assert.match(status.stdout, /crasher\s+dev\s+tmux\s+readline\s+failed/);
  });

  it('role: addressing skips the failed agent; group: and leader: reach the group', async () => {
    for (let i = 1; i <= 4; i++) assert.equal((await cli(['send', 'role:dev', `role ${i}`, '--from', 'tester', ...base])).code, 0);
    assert.equal((await cli(['send', 'group:devs', 'to the group', '--from', 'tester', ...base])).code, 0);
    assert.equal((await cli(['send', 'leader:devs', 'to the leader', '--from', 'tester', ...base])).code, 0);
    await waitFor(() => agentLog(dir, 'worker').some((l) => l.includes('to the leader')), 15_000, 'leader message');
    const log = agentLog(dir, 'worker');
    for (let i = 1; i <= 4; i++) assert.ok(log.some((l) => l === `[tester → role:dev] role ${i}`), `role ${i} reached worker: ${log.join(' | ')}`);
    assert.ok(log.some((l) => l.includes('to the group')));
    const roleMessages = (await bed.journal()).filter((e) => e.to === 'role:dev');
    assert.deepEqual(roleMessages.map((e) => e.rcpt), ['worker', 'worker', 'worker', 'worker']);
  });

  it('a killed agent is back within the health interval: restore prompt first, then what it missed, in order', async () => {
    const pane = (await agents(base)).worker!.tmux!;
    const pid = tmux.panePid(pane);
    const startsBefore = agentLog(dir, 'worker').filter((l) => l === 'START').length;
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 1; i <= 3; i++) assert.equal((await cli(['send', 'worker', `missed ${i}`, '--from', 'tester', ...base])).code, 0);
    await waitFor(() => agentLog(dir, 'worker').some((l) => l.endsWith('missed 3')), 20_000, 'backlog delivered');
    const log = agentLog(dir, 'worker');
    assert.equal(log.filter((l) => l === 'START').length, startsBefore + 1, 'restarted once');
    const restart = log.lastIndexOf('START');
    const prompt = log.indexOf('RESTORE-PROMPT: pick up your work', restart);
    const missed = [1, 2, 3].map((i) => log.indexOf(`[tester → worker] missed ${i}`, restart));
    assert.ok(prompt > restart, `prompt after the restart: ${log.join(' | ')}`);
    assert.ok(missed[0]! > prompt && missed[1]! > missed[0]! && missed[2]! > missed[1]!, `prompt, then missed 1..3: ${log.join(' | ')}`);
    assert.equal(log.filter((l) => l.endsWith('missed 1')).length, 1, 'delivered once');
    assert.equal((await agents(base)).worker?.status, 'running');
    assert.ok(events(await bed.journal(), 'restart').some((e) => e.agent === 'worker' && /^pane dead( \(signal 9\))?$/.test(String(e.reason))));
  });

  it('a pane that vanished is made again in its window, the registry points at it, and delivery follows', async () => {
    const old = (await agents(base)).worker!.tmux!;
    const window = tmux.run(['display-message', '-p', '-t', old, '#{window_id}']);
    tmux.run(['split-window', '-d', '-t', window, 'sleep 60']); // keep the window when the agent's pane goes
    tmux.run(['kill-pane', '-t', old]);
    const moved = await waitFor(async () => {
      const pane = (await agents(base)).worker?.tmux;
      return pane && pane !== old ? pane : undefined;
    }, 15_000, 'registry points at a new pane');
    assert.equal(tmux.run(['display-message', '-p', '-t', moved, '#{window_id}|#{@bmad_agent}']), `${window}|worker`);
    await waitFor(() => agentLog(dir, 'worker').filter((l) => l === 'RESTORE-PROMPT: pick up your work').length === 2, 15_000, 'restore prompt again');
    assert.equal((await cli(['send', 'worker', 'after the move', '--from', 'tester', ...base])).code, 0);
    await waitFor(() => agentLog(dir, 'worker').some((l) => l.endsWith('after the move')), 15_000, 'delivered to the new pane');
    assert.ok(events(await bed.journal(), 'restart').some((e) => e.agent === 'worker' && e.reason === 'pane missing'));
  });

  it('stop ends the supervisor with the router', async () => {
    assert.equal((await cli(['stop', ...base])).code, 0);
    await waitFor(() => {
      try {
        process.kill(supervisorPid!, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000, 'supervisor gone');
  });
});
