import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, tempDir, waitFor } from './helpers/bus.js';
import { TestTmux } from './helpers/tmux.js';
import { agentLog, agents, events, journal, writeTeam } from './supervisor-helpers.js';

// The supervisor as users run it: `up` starts the daemon with the team file, the keeper runs `supervise`.
describe('supervisor in the daemon: restart, restore, failure, role addressing', () => {
  const tmux = new TestTmux();
  const tmp = tempDir();
  const root = path.join(tmp.dir, 'bus');
  const base = ['--dir', root, '--tmux-socket', tmux.socket];
  let file = '';
  let supervisorPid: number | undefined;

  before(() => {
    tmux.start();
    file = writeTeam(tmp.dir, `
version: 1
name: sup-restart
defaults:
  command: node agent.mjs
  cwd: .
  deliver: tmux
  submit_delay: 30ms
  env: { AGENT_LOG_DIR: ${JSON.stringify(path.join(tmp.dir, 'logs'))} }
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
  after(async () => {
    await cli(['stop', ...base]).catch(() => undefined);
    await cli(['down', '--all', ...base]).catch(() => undefined);
    if (supervisorPid) {
      try {
        process.kill(supervisorPid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    tmux.kill();
    tmp.cleanup();
  });

  it('up starts the router and, under the same keeper, the supervisor', async () => {
    const result = await cli(['up', file, ...base], { timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    const keeper = await waitFor(() => {
      const status = JSON.parse(fs.readFileSync(path.join(root, 'state', 'keeper.json'), 'utf8')) as { supervisor_pid?: number };
      return status.supervisor_pid ? status : undefined;
    }, 10_000, 'keeper reports a supervisor');
    supervisorPid = keeper.supervisor_pid;
    await waitFor(() => agentLog(tmp.dir, 'worker').includes('START'), 10_000, 'worker started');
    await waitFor(async () => (await agents(base)).worker?.status === 'running', 10_000, 'worker marked running');
  });

  it('an agent that dies every time is restarted 3 times, then marked failed, and the orchestrator is told', async () => {
    await waitFor(async () => (await agents(base)).crasher?.status === 'failed', 20_000, 'crasher failed');
    assert.equal(agentLog(tmp.dir, 'crasher').filter((l) => l === 'START').length, 4, 'the first start and 3 restarts');
    const entries = await journal(base);
    assert.equal(events(entries, 'restart').filter((e) => e.agent === 'crasher').length, 3);
    const failed = events(entries, 'failed').filter((e) => e.agent === 'crasher');
    assert.equal(failed.length, 1);
    assert.equal(entries.find((e) => e.type === 'event' && (e.body as { event?: string }).event === 'failed')?.to, 'orchestrator');
    await waitFor(() => agentLog(tmp.dir, 'orchestrator').some((l) => l.includes('"event":"failed"') && l.includes('crasher')), 10_000, 'orchestrator pane got it');
    const status = await cli(['status', ...base]);
    assert.match(status.stdout, /crasher\s+dev\s+tmux\s+failed/);
  });

  it('role: addressing skips the failed agent; group: and leader: reach the group', async () => {
    for (let i = 1; i <= 4; i++) assert.equal((await cli(['send', 'role:dev', `role ${i}`, '--from', 'tester', ...base])).code, 0);
    assert.equal((await cli(['send', 'group:devs', 'to the group', '--from', 'tester', ...base])).code, 0);
    assert.equal((await cli(['send', 'leader:devs', 'to the leader', '--from', 'tester', ...base])).code, 0);
    await waitFor(() => agentLog(tmp.dir, 'worker').some((l) => l.includes('to the leader')), 15_000, 'leader message');
    const log = agentLog(tmp.dir, 'worker');
    for (let i = 1; i <= 4; i++) assert.ok(log.some((l) => l === `[tester → role:dev] role ${i}`), `role ${i} reached worker: ${log.join(' | ')}`);
    assert.ok(log.some((l) => l.includes('to the group')));
    const roleMessages = (await journal(base)).filter((e) => e.to === 'role:dev');
    assert.deepEqual(roleMessages.map((e) => e.rcpt), ['worker', 'worker', 'worker', 'worker']);
  });

  it('a killed agent is back within the health interval: restore prompt first, then what it missed, in order', async () => {
    const pane = (await agents(base)).worker!.tmux!;
    const pid = Number(tmux.run(['display-message', '-p', '-t', pane, '#{pane_pid}']));
    const startsBefore = agentLog(tmp.dir, 'worker').filter((l) => l === 'START').length;
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 1; i <= 3; i++) assert.equal((await cli(['send', 'worker', `missed ${i}`, '--from', 'tester', ...base])).code, 0);
    await waitFor(() => agentLog(tmp.dir, 'worker').some((l) => l.endsWith('missed 3')), 20_000, 'backlog delivered');
    const log = agentLog(tmp.dir, 'worker');
    assert.equal(log.filter((l) => l === 'START').length, startsBefore + 1, 'restarted once');
    const restart = log.lastIndexOf('START');
    const prompt = log.indexOf('RESTORE-PROMPT: pick up your work', restart);
    const missed = [1, 2, 3].map((i) => log.indexOf(`[tester → worker] missed ${i}`, restart));
    assert.ok(prompt > restart, `prompt after the restart: ${log.join(' | ')}`);
    assert.ok(missed[0]! > prompt && missed[1]! > missed[0]! && missed[2]! > missed[1]!, `prompt, then missed 1..3: ${log.join(' | ')}`);
    assert.equal(log.filter((l) => l.endsWith('missed 1')).length, 1, 'delivered once');
    assert.equal((await agents(base)).worker?.status, 'running');
    assert.ok(events(await journal(base), 'restart').some((e) => e.agent === 'worker' && e.reason === 'pane dead'));
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
    await waitFor(() => agentLog(tmp.dir, 'worker').filter((l) => l === 'RESTORE-PROMPT: pick up your work').length === 2, 15_000, 'restore prompt again');
    assert.equal((await cli(['send', 'worker', 'after the move', '--from', 'tester', ...base])).code, 0);
    await waitFor(() => agentLog(tmp.dir, 'worker').some((l) => l.endsWith('after the move')), 15_000, 'delivered to the new pane');
    assert.ok(events(await journal(base), 'restart').some((e) => e.agent === 'worker' && e.reason === 'pane missing'));
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
