import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseStat, readChildren, readStat, readStatusRss, scanProcesses } from '../../src/bus/proc-scan.js';
import { waitFor } from '../helpers/bus.js';

describe('reading /proc', () => {
  it('stat: parent, group, session, state and times, counted from the last parenthesis', () => {
    const s = parseStat('4242 (my (odd) prog) S 17 4240 4200 0 -1 4194560 300 0 0 0 250 50 0 0 20 0 3 0 98765 123456789 2048 18446744073709551615 1 1 0 0 0\n');
    assert.deepEqual(s, { pid: 4242, ppid: 17, pgid: 4240, sid: 4200, comm: 'my (odd) prog', state: 'S', cpuTicks: 300, startTicks: 98765, rssPages: 2048 });
    assert.throws(() => parseStat('garbage'), /Not a \/proc stat line/);
  });

  it('this process as /proc shows it, in the scan too; a gone pid is undefined, not an error', () => {
    const self = readStat(process.pid)!;
    assert.equal(self.pid, process.pid);
    assert.equal(self.ppid, process.ppid);
    assert.ok(self.startTicks > 0);
    assert.ok(readStatusRss(process.pid)! > 1024 * 1024);
    const scanned = scanProcesses().find((p) => p.pid === process.pid);
    assert.deepEqual({ ...scanned, state: 'R', cpuTicks: 0, rssPages: 0 }, { ...self, state: 'R', cpuTicks: 0, rssPages: 0 });
    assert.equal(readStat(2 ** 22 + 1), undefined, 'above pid_max');
    assert.equal(readStatusRss(2 ** 22 + 1), undefined);
  });

  it('children of a process, from the kernel where it lists them', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await waitFor(() => readStat(child.pid!)?.comm === 'sleep', 5000, 'sleep to start');
      const children = readChildren(process.pid);
      // undefined: this kernel has no /proc/<pid>/task/<tid>/children (the caller scans for parent pids then).
      if (children !== undefined) assert.ok(children.includes(child.pid!), `${child.pid} in ${children}`);
      assert.deepEqual(readChildren(2 ** 22 + 1), [], 'a gone process has none');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
