import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { judgeEntry } from '../../src/bus/permissions.js';
import type { Supervisor, SupervisorEvent } from '../../src/team/supervisor.js';
import { waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentsStarted, events, librarySupervisor, passes, writeTeam } from './supervisor-helpers.js';

const mode = (file: string) => (fs.lstatSync(file).mode & 0o7777).toString(8).padStart(4, '0');
const isRoot = process.getuid?.() === 0;
const USER = `bmadperm${process.pid % 100_000}`;

describe('permission_denied (pure): what is repaired and what is refused', () => {
  const st = (type: 'dir' | 'fifo' | 'file' | 'link' | 'socket', mode: number, uid = 1000) => ({
    uid, mode, isSymbolicLink: () => type === 'link', isDirectory: () => type === 'dir', isFIFO: () => type === 'fifo', isFile: () => type === 'file', isSocket: () => type === 'socket',
  });
  it('ours with the wrong mode: back to 0700/0600, whether looser or tighter; never anything else', () => {
    assert.deepEqual(judgeEntry('/r', st('dir', 0o777), 1000), { kind: 'repair', path: '/r', was: 0o777, want: 0o700 });
    assert.deepEqual(judgeEntry('/r/p', st('fifo', 0o666), 1000), { kind: 'repair', path: '/r/p', was: 0o666, want: 0o600 });
    assert.deepEqual(judgeEntry('/r/f', st('file', 0o200), 1000), { kind: 'repair', path: '/r/f', was: 0o200, want: 0o600 });
    assert.equal(judgeEntry('/r/f', st('file', 0o600), 1000), undefined);
    assert.equal(judgeEntry('/r', st('dir', 0o700), 1000), undefined);
  });
  it('not safely ours: a foreign owner, a symlink, a socket, a type the layout does not expect', () => {
    assert.deepEqual(judgeEntry('/r/f', st('file', 0o644, 0), 1000), { kind: 'refuse', path: '/r/f', reason: "owned by uid 0, not by the bus's owner (uid 1000)" });
    assert.equal(judgeEntry('/r/l', st('link', 0o777), 1000)?.kind, 'refuse');
    assert.equal(judgeEntry('/r/s', st('socket', 0o600), 1000)?.kind, 'refuse');
    assert.deepEqual(judgeEntry('/r/orchestrator.pipe', st('file', 0o600), 1000, 'fifo'), { kind: 'refuse', path: '/r/orchestrator.pipe', reason: 'expected a fifo, found a regular file' });
  });
});

describe('permission_denied for real: fix_permissions repairs what is ours, refuses and reports the rest', { skip: isRoot ? false : 'needs root for useradd' }, () => {
  const bed = new TmuxBed();
  const { dir, root } = bed;
  const layout = new Layout(root);
  let seen: SupervisorEvent[] = [];
  let supervisor: Supervisor | undefined;
  const foreign = path.join(root, 'state', 'notes.json');
  const link = path.join(root, 'state', 'evil.json');
  const target = path.join(dir, 'outside.txt');

  before(async () => {
    bed.start();
    const file = writeTeam(dir, `
name: perms
${agentDefaults(dir)}
supervisor: { health_interval: 200ms }
sessions:
  - name: perms
    windows: [{ name: one, panes: [{ name: alpha, role: dev }] }]
`);
    await bed.up(file);
    await agentsStarted(dir, ['alpha']);
    const made = spawnSync('useradd', ['--no-create-home', '--no-user-group', '--shell', '/usr/sbin/nologin', USER], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    ({ supervisor, seen } = librarySupervisor(bed, file, { schedule: false }));
  });
  after(async () => {
    await bed.close();
    spawnSync('userdel', [USER]);
    assert.equal(spawnSync('id', [USER]).status, 1, 'the temporary user is gone');
  });

  it('chmod 0777 on the bus root and a FIFO: both back to 0700/0600, each an event, on the bus once it takes events again', async () => {
    fs.chmodSync(root, 0o777);
    fs.chmodSync(layout.orchestratorPipe, 0o666);
    fs.chmodSync(layout.stateDir, 0o750);
    await supervisor!.start();
    await waitFor(() => mode(root) === '0700' && mode(layout.orchestratorPipe) === '0600' && mode(layout.stateDir) === '0700', 10_000, 'modes repaired');
    const fixed = seen.filter((e) => e.event === 'permissions_fixed');
    assert.deepEqual(fixed, [
      { event: 'permissions_fixed', path: root, was: '0777', now: '0700' },
      { event: 'permissions_fixed', path: layout.orchestratorPipe, was: '0666', now: '0600' },
      { event: 'permissions_fixed', path: layout.stateDir, was: '0750', now: '0700' },
    ]);
    assert.deepEqual(seen.find((e) => e.event === 'failure'), { event: 'failure', kind: 'permission_denied', handler: 'fix_permissions', detail: `${root} has mode 0777` });
    // The root's own events waited while the bus refused its root, then went out in order.
    const onBus = await waitFor(async () => {
      const found = events(await bed.journal(), 'permissions_fixed');
      return found.length === 3 ? found : undefined;
    }, 10_000, 'the events on the bus');
    assert.equal(onBus[0]!.path, root);
  });

  it('a state file owned by another user, and a symlink: refused and reported once, left exactly as they are', async () => {
    fs.writeFileSync(foreign, '{}\n', { mode: 0o644 });
    const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout.trim());
    fs.chownSync(foreign, uid, 0);
    fs.writeFileSync(target, 'outside\n', { mode: 0o644 });
    fs.symlinkSync(target, link);
    const before = seen.length;
    await waitFor(() => seen.slice(before).filter((e) => e.event === 'permissions_refused').length === 2, 10_000, 'two refusals');
    await passes(supervisor!, 3);
    const refused = seen.slice(before).filter((e) => e.event === 'permissions_refused');
    assert.deepEqual(refused.map((e) => e.event === 'permissions_refused' && [e.path, e.reason]).sort(), [
      [link, 'a symlink (a repair would follow it)'],
      [foreign, `owned by uid ${uid}, not by the bus's owner (uid 0)`],
    ].sort(), 'each told once');
    assert.equal(fs.lstatSync(foreign).uid, uid);
    assert.equal(mode(foreign), '0644', 'not touched');
    assert.equal(mode(target), '0644', 'the symlink was not followed');
    assert.ok(seen.slice(before).every((e) => e.event !== 'permissions_fixed'));
    fs.rmSync(foreign);
    fs.rmSync(link);
  });
});
