import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import { TmuxClient } from '../../src/tmux/client.js';
import { paneProcesses, type Proc } from '../../src/team/pane-processes.js';
import { readStat } from '../../src/bus/proc-scan.js';
import { paneStartOf, respawnPane } from '../../src/team/supervisor-panes.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';

// Issue 9, defect 8: an agent's detached helpers (Codex's app-server daemon, Gemini's
// node workers) outlived respawn-pane -k and down. The fixture agent forks a child in
// a session of its own (setsid, no terminal: tmux's hang-up never reaches it).
const AGENT = `
import { spawn } from 'node:child_process';
import fs from 'node:fs';
const child = spawn(process.execPath, ['-e', 'process.on("SIGHUP", () => {}); setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
fs.appendFileSync(process.env.PIDS, child.pid + '\\n');
console.log('forker ready');
setInterval(() => {}, 1000);
`;

const alive = (pid: number): boolean => {
  const state = readStat(pid)?.state;
  return state !== undefined && state !== 'Z';
};

describe('paneProcesses (pure)', () => {
  const p = (pid: number, ppid: number, pgid: number, sid: number): Proc => ({ pid, ppid, pgid, sid, startTicks: 1 });
  const list = [
    p(100, 1, 100, 100), // the pane's shell, session leader
    p(101, 100, 101, 100), // a job in its own group, same session
    p(102, 101, 102, 102), // a setsid child of the job
    p(103, 102, 103, 103), // and its child
    p(200, 1, 200, 200), // someone else
    p(300, 1, 100, 100), // an orphan still in the dead pane's group
  ];

  it('a live pane: its session, group and every descendant, setsid ones included', () => {
    assert.deepEqual(paneProcesses([{ pid: 100, dead: false }], list).map((x) => x.pid).sort(), [100, 101, 102, 103, 300]);
  });

  it('a dead pane: only what still lives in its group or session; nothing when its pid belongs to someone else now', () => {
    const withoutLeader = list.filter((x) => x.pid !== 100);
    assert.deepEqual(paneProcesses([{ pid: 100, dead: true }], withoutLeader).map((x) => x.pid).sort(), [101, 102, 103, 300]);
    assert.deepEqual(paneProcesses([{ pid: 200, dead: true }], list).map((x) => x.pid), []);
  });
});

describe('restart and down end the agent\'s whole process tree', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  const file = path.join(dir, 'team.yaml');
  const pids = path.join(dir, 'pids');
  const children = (): number[] => (fs.existsSync(pids) ? fs.readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number) : []);

  before(async () => {
    bed.start();
    fs.writeFileSync(path.join(dir, 'forker.mjs'), AGENT);
    fs.writeFileSync(file, `
name: forkers
defaults: { command: node forker.mjs, cwd: ., submit_delay: 10ms, env: { PIDS: ${JSON.stringify(pids)} } }
sessions:
  - name: forkers
    windows:
      - name: main
        panes: [{ name: forker, role: dev }]
`);
    await bed.up(file);
  });
  after(async () => {
    // Down ends them; any that outlived it are killed by pid (read first: close removes the dir).
    const forked = children();
    await bed.close();
    for (const pid of forked) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });

  it('a restart (respawn in place) ends the detached child of the previous start', async () => {
    const [first] = await waitFor(() => (children().length === 1 ? children() : undefined), 10_000, 'the agent forked its child');
    assert.ok(alive(first!), 'the detached child runs');
    const layout = new Layout(root);
    const agent = readRegistry(layout).agents.forker!;
    const client = new TmuxClient({ socket: tmux.socket, mode: 'plain' });
    try {
      await respawnPane(client, agent.tmux!, paneStartOf(layout, agent, tmux.socket, undefined));
    } finally {
      client.close();
    }
    await waitFor(() => children().length === 2, 10_000, 'the restarted agent forked a new child');
    await waitFor(() => !alive(first!), 5_000, `the old child ${first} is gone`);
    assert.ok(alive(children()[1]!), 'the new child runs');
  });

  it('down ends it too', async () => {
    const last = children().at(-1)!;
    assert.ok(alive(last));
    const down = await cli(['down', file, ...base]);
    assert.equal(down.code, 0, down.stderr);
    await waitFor(() => !alive(last), 5_000, `the child ${last} is gone after down`);
    assert.deepEqual(tmux.sessions(), ['bystander']);
  });
});
