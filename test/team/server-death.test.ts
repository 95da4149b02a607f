import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import type { Supervisor, SupervisorEvent } from '../../src/team/supervisor.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentLog, agentsStarted, librarySupervisor, writeTeam } from './supervisor-helpers.js';

// Issue 9, defect 2: after `tmux kill-server` a new server hands out @0/%0 again, and
// the supervisor took an unrelated session's panes for the team's.
describe('after the tmux server dies, the team is rebuilt once, never into someone else\'s panes', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  const checkpoints = path.join(dir, 'checkpoints');
  const env = { BMAD_CHECKPOINT_DIR: checkpoints };
  const layout = new Layout(root);
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;
  const savedDir = process.env.BMAD_CHECKPOINT_DIR;

  before(async () => {
    process.env.BMAD_CHECKPOINT_DIR = checkpoints;
    bed.start();
    const file = writeTeam(dir, `
name: phoenix
${agentDefaults(dir, { deliver: 'tmux' })}
supervisor:
  restore_prompt: "RESTORE-PROMPT"
sessions:
  - name: phoenix
    windows:
      - name: one
        panes: [{ name: alpha, role: dev }]
      - name: two
        panes: [{ name: beta, role: qa }]
`);
    // Kill the bystander: the team's session is then the server's first, with ids @0/%0.
    tmux.run(['kill-session', '-t', 'bystander']);
    await bed.up(file);
    ({ supervisor, seen } = librarySupervisor(bed, file, { intervalMs: 60_000, restoreSettleMs: 200, schedule: false }));
    await supervisor.start();
    await agentsStarted(dir, ['alpha', 'beta']);
  });
  after(async () => {
    await bed.close();
    if (savedDir === undefined) delete process.env.BMAD_CHECKPOINT_DIR;
    else process.env.BMAD_CHECKPOINT_DIR = savedDir;
  });

  /** Kills the server and at once makes an unrelated session with two windows (an editor, say): it gets the old ids. */
  const killServerAndSquat = (): void => {
    tmux.run(['kill-server']);
    // The old server may still be on its way out for a moment ("server exited unexpectedly"): try again.
    for (let i = 0; ; i++) {
      if (tmux.tryRun(['-f', '/dev/null', 'new-session', '-d', '-s', 'unrelated', '-x', '120', '-y', '40', 'cat']) !== undefined) break;
      if (i >= 50) throw new Error('no new tmux server after kill-server');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    tmux.run(['new-window', '-d', '-t', 'unrelated:', 'cat']);
  };
  const unrelatedPanes = (): string[] =>
    tmux.run(['list-panes', '-s', '-t', '=unrelated', '-F', '#{window_index}.#{pane_index} #{pane_id} #{@bmad_agent}']).split('\n').sort();
  /** Every pane of the team's session, `window agent`, sorted. */
  const teamPanes = (): string[] => tmux.run(['list-panes', '-s', '-t', '=phoenix', '-F', '#{window_name} #{@bmad_agent}']).split('\n').sort();
  const instance = (): string => tmux.run(['display-message', '-p', '#{pid}:#{start_time}']);

  const checkOwned = async (): Promise<void> => {
    const registry = readRegistry(layout);
    for (const name of ['alpha', 'beta']) {
      const agent = registry.agents[name]!;
      assert.equal(agent.tmux_server, instance(), `${name} is recorded on the new server`);
      assert.equal(tmux.run(['display-message', '-p', '-t', agent.tmux!, '#{session_name} #{@bmad_agent}']), `phoenix ${name}`);
    }
    assert.deepEqual(teamPanes(), ['one alpha', 'two beta'], 'no duplicated windows, each agent in its place');
  };

  it('from the topology when there is no checkpoint; the unrelated session is left alone', async () => {
    killServerAndSquat();
    const squatted = unrelatedPanes();
    assert.ok(squatted.some((p) => p.includes(readRegistry(layout).agents.alpha!.tmux!)), `the old pane id is reused: ${squatted}`);
    await supervisor!.runPass();
    const recovered = seen.filter((e) => e.event === 'team_recovered');
    assert.equal(recovered.length, 1);
    assert.equal(recovered[0]!.event === 'team_recovered' && recovered[0]!.source, 'topology');
    // The error table took it first: a session_died of the whole team, handled by restart.
    const failure = seen.findIndex((e) => e.event === 'failure');
    assert.ok(failure >= 0 && failure < seen.indexOf(recovered[0]!), 'a failure event before team_recovered');
    assert.deepEqual(seen[failure], { event: 'failure', kind: 'session_died', handler: 'restart', detail: 'the tmux server died (the tmux server restarted)' });
    await checkOwned();
    assert.deepEqual(unrelatedPanes(), squatted, 'no pane made or tagged in the unrelated session');
    await waitFor(() => agentLog(dir, 'alpha').includes('RESTORE-PROMPT'), 10_000, 'alpha got its restore prompt');

    // Once: the next passes leave the rebuilt team as it is.
    await supervisor!.runPass();
    await supervisor!.runPass();
    assert.equal(seen.filter((e) => e.event === 'team_recovered').length, 1);
    assert.deepEqual(teamPanes(), ['one alpha', 'two beta']);
    assert.equal(seen.filter((e) => e.event === 'restart').length, 0, 'no agent restarted into a pane that is not its own');
  });

  it('from the latest checkpoint when there is one; `restore latest` then succeeds without --force', async () => {
    const written = await cli(['checkpoint', ...base], { env });
    assert.equal(written.code, 0, written.stderr);
    killServerAndSquat();
    const squatted = unrelatedPanes();
    await supervisor!.runPass();
    const recovered = seen.filter((e) => e.event === 'team_recovered');
    assert.equal(recovered.length, 2);
    const last = recovered[1]!;
    assert.ok(last.event === 'team_recovered' && last.source === 'checkpoint' && last.checkpoint === written.stdout.trim(), JSON.stringify(last));
    await checkOwned();
    assert.deepEqual(unrelatedPanes(), squatted);

    const restore = await cli(['restore', 'latest', '--no-router', '--json', ...base], { env, timeoutMs: 60_000 });
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal((JSON.parse(restore.stdout) as { alreadyRestored?: boolean }).alreadyRestored, true);
    await checkOwned();
    assert.ok(fs.readdirSync(checkpoints).length === 1, 'the recovery wrote no checkpoint of its own');
  });
});
