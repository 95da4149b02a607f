import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { journalLines } from '../../src/journal/reader.js';
import { cli, tempDir, waitFor } from '../helpers/bus.js';
import { exited } from '../helpers/traffic.js';

/** A 3 MiB tmpfs of our own, or the reason there is none (mount refused: not root, no CAP_SYS_ADMIN). */
function mountTmpfs(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error).trim() || 'mount failed';
  }
}

/** Fills the file system until at most `leave` bytes are free; returns the filler file. */
function fill(dir: string, leave: number): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const block = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) {
      const free = fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize;
      if (free <= leave) break;
      fs.writeSync(fd, block, 0, Math.min(block.length, free - leave));
    }
  } catch {
    // ENOSPC: full already
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

const LINES = 4000;

describe('a full disk', () => {
  const { dir, cleanup } = tempDir();
  const mountDir = path.join(dir, 'small');
  const root = path.join(mountDir, 'bus');
  let skipped: string | undefined;

  before(() => {
    fs.mkdirSync(mountDir, { mode: 0o700 });
    skipped = mountTmpfs(mountDir);
  });
  after(async () => {
    if (!skipped) {
      await cli(['--dir', root, 'stop']).catch(() => undefined);
      execFileSync('umount', ['-l', mountDir]);
    }
    cleanup();
  });

  test('pauses intake and loses nothing: router and keeper stay up, status says so, and it resumes by itself', async (t) => {
    if (skipped) {
      t.skip(`cannot mount a tmpfs here (${skipped})`);
      return;
    }
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
    assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1'])).code, 0);
    const started = await cli(['--dir', root, 'start', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const { keeper_pid: keeperPid } = JSON.parse(started.stdout) as { keeper_pid: number };
    const filler = fill(mountDir, 400 * 1024);
    // One shell writer, a numbered line at a time, about 600 kB in all: more than the disk has left.
    const pad = 'x'.repeat(100);
    const writer = spawn('bash', ['-c', `for i in $(seq 1 ${LINES}); do printf '{"to":"dev-1","body":{"i":%d,"p":"${pad}"}}\\n' "$i"; done > "$1"`, 'writer', path.join(root, 'bus.pipe')], { stdio: 'ignore' });
    const status = await waitFor(async () => {
      const s = await cli(['--dir', root, 'status', '--json']);
      const report = JSON.parse(s.stdout) as { router: { running: boolean; disk_full_since?: string } };
      return report.router.disk_full_since ? report : undefined;
    }, 30_000, 'status to report the full disk');
    assert.equal(status.router.running, true);
    assert.match((await cli(['--dir', root, 'status'])).stdout, /disk\s+full since \d{4}-\d\d-\d\dT/);
    // Nothing died meanwhile: the same keeper, and a router that was never restarted.
    await new Promise((r) => setTimeout(r, 1500));
    const keeper = JSON.parse(fs.readFileSync(path.join(root, 'state', 'keeper.json'), 'utf8')) as { pid: number; restarts: number; router_pid: number };
    assert.equal(keeper.pid, keeperPid);
    assert.equal(keeper.restarts, 0);
    process.kill(keeper.router_pid, 0);
    // A long message needs a spool file: send fails with one clear line, never a stack.
    const failed = await cli(['--dir', root, 'send', 'dev-1', 'y'.repeat(6000)]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^bmad-bus: .*(ENOSPC|no space left)[^\n]*\n$/i);
    // Space comes back: everything the writer wrote arrives, in order, once.
    fs.rmSync(filler);
    assert.equal(await exited(writer), 0);
    const bodies = await waitFor(() => {
      const got = [...journalLines(path.join(root, 'journal'), 0)].map((l) => (JSON.parse(l.line) as { body: { i?: number } }).body.i).filter((i) => i !== undefined);
      return got.length >= LINES ? got : undefined;
    }, 60_000, 'every line in the journal');
    assert.deepEqual(bodies, Array.from({ length: LINES }, (_, i) => i + 1));
    await waitFor(async () => !(JSON.parse((await cli(['--dir', root, 'status', '--json'])).stdout) as { router: { disk_full_since?: string } }).router.disk_full_since, 15_000, 'status to clear');
    const sent = await cli(['--dir', root, 'send', 'dev-1', 'y'.repeat(6000)]);
    assert.equal(sent.code, 0, sent.stderr);
  });
});
