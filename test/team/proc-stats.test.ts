import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../../src/bus/errors.js';
import {
  checkLimits,
  cpuPercentBetween,
  formatBytes,
  parseResourceLimits,
  parseStat,
  parseStatusRss,
  ProcessTreeSampler,
  readProcess,
  readProcessTree,
  sampleOf,
  treeOf,
  type ProcessInfo,
} from '../../src/team/proc-stats.js';
import { waitFor } from '../helpers/bus.js';

const children: ChildProcess[] = [];
function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const proc = (pid: number, ppid: number, cpuTicks = 0, rssBytes = 0, startTicks = 1): ProcessInfo => ({ pid, ppid, comm: 'x', state: 'S', cpuTicks, startTicks, rssBytes });

describe('parsing /proc', () => {
  test('stat: a name with spaces and parentheses', () => {
    const line = '4242 (my (odd) prog) S 17 4242 4242 0 -1 4194560 300 0 0 0 250 50 0 0 20 0 3 0 98765 123456789 2048 18446744073709551615 1 1 0 0 0\n';
    const s = parseStat(line);
    assert.equal(s.pid, 4242);
    assert.equal(s.comm, 'my (odd) prog');
    assert.equal(s.state, 'S');
    assert.equal(s.ppid, 17);
    assert.equal(s.cpuTicks, 300);
    assert.equal(s.startTicks, 98765);
    assert.equal(s.rssPages, 2048);
  });

  test('status: VmRSS in bytes, absent for a zombie', () => {
    assert.equal(parseStatusRss('Name:\tnode\nVmRSS:\t   51200 kB\nThreads:\t7\n'), 51200 * 1024);
    assert.equal(parseStatusRss('Name:\tdefunct\nState:\tZ (zombie)\n'), undefined);
  });

  test('a tree from parent pids; CPU % from two samples, a reused pid is a new process', () => {
    const list = [proc(1, 0), proc(10, 1), proc(11, 10), proc(12, 11), proc(13, 10), proc(20, 1)];
    assert.deepEqual(treeOf(10, list).map((p) => p.pid), [10, 11, 13, 12]);
    assert.deepEqual(treeOf(99, list), []);
    const a = sampleOf(10, [proc(10, 1, 100, 1000), proc(11, 10, 50, 2000)], 0);
    const b = sampleOf(10, [proc(10, 1, 150, 1000), proc(11, 10, 10, 2000, 7), proc(14, 10, 25, 0)], 2000);
    assert.equal(a.rssBytes, 3000);
    // 50 ticks from pid 10, 10 from the new process in pid 11's place, 25 from pid 14: 85 ticks in 2 s at 100/s.
    assert.equal(cpuPercentBetween(a, b, 100), 42.5);
    assert.equal(cpuPercentBetween(b, b, 100), 0);
  });

  test('resource limits from the topology', () => {
    assert.deepEqual(parseResourceLimits({ memory: '2GB', cpu_percent: 25 }), { memoryBytes: 2 * 1024 ** 3, cpuPercent: 25 });
    assert.deepEqual(parseResourceLimits({ memory: '512mb', cpu_percent: '50%' }), { memoryBytes: 512 * 1024 ** 2, cpuPercent: 50 });
    assert.deepEqual(parseResourceLimits(undefined), {});
    assert.throws(() => parseResourceLimits({ memory: 'lots' }), (e: Error) => e instanceof ConfigError && /resource_limits.per_session.memory/.test(e.message));
    assert.throws(() => parseResourceLimits({ cpu_percent: -3 }), ConfigError);
    const limits = { memoryBytes: 1000, cpuPercent: 25 };
    assert.deepEqual(checkLimits({ rssBytes: 999, cpuPercent: 25 }, limits), []);
    assert.deepEqual(checkLimits({ rssBytes: 1001, cpuPercent: 80 }, limits), [{ kind: 'memory', value: 1001, limit: 1000 }, { kind: 'cpu', value: 80, limit: 25 }]);
    assert.deepEqual(checkLimits({ rssBytes: 0, cpuPercent: undefined }, limits), []);
    assert.equal(formatBytes(2 * 1024 ** 3), '2.0G');
    assert.equal(formatBytes(300 * 1024 ** 2), '300M');
  });
});

describe('real processes', () => {
  test('a busy loop uses CPU, a sleeper does not, memory is plausible', async () => {
    const busy = start(process.execPath, ['-e', 'for (;;) {}']);
    const sleeper = start('sleep', ['60']);
    await waitFor(() => readProcess(busy.pid!)?.comm === 'node' && readProcess(sleeper.pid!)?.comm === 'sleep', 5000, 'children to start');
    const sampler = new ProcessTreeSampler();
    const first = sampler.sample(busy.pid!);
    assert.equal(first.cpuPercent, undefined, 'the first sample has no CPU % yet');
    sampler.sample(sleeper.pid!);
    await sleep(1000);
    const hot = sampler.sample(busy.pid!);
    const cold = sampler.sample(sleeper.pid!);
    const cores = os.availableParallelism();
    assert.ok(hot.cpuPercent! > 10 && hot.cpuPercent! <= 100 * cores + 10, `busy loop at ${hot.cpuPercent}%`);
    assert.ok(cold.cpuPercent! >= 0 && cold.cpuPercent! < 5, `sleeper at ${cold.cpuPercent}%`);
    assert.ok(hot.rssBytes > 5 * 1024 ** 2 && hot.rssBytes < 1024 ** 3, `node RSS ${formatBytes(hot.rssBytes)}`);
    assert.ok(cold.rssBytes > 0 && cold.rssBytes < 64 * 1024 ** 2, `sleep RSS ${formatBytes(cold.rssBytes)}`);
    assert.deepEqual(checkLimits(cold, parseResourceLimits({ memory: '2GB', cpu_percent: 25 })), []);
    assert.deepEqual(checkLimits(hot, { memoryBytes: 1024 }).map((b) => b.kind), ['memory']);
    busy.kill('SIGKILL');
    sleeper.kill('SIGKILL');
    await waitFor(() => busy.exitCode !== null || busy.signalCode !== null, 5000, 'busy loop to die');
    const gone = sampler.sample(busy.pid!);
    assert.equal(gone.alive, false);
  });

  test('a tree: a shell with a busy child and two sleepers', async () => {
    const shell = start('sh', ['-c', `sleep 60 & sleep 60 & "${process.execPath}" -e 'for (;;) {}' & wait`]);
    const tree = await waitFor(() => {
      const t = readProcessTree(shell.pid!);
      return t.length === 4 && t.filter((p) => p.comm === 'sleep').length === 2 && t.some((p) => p.comm === 'node') ? t : undefined;
    }, 5000, 'the tree to start');
    assert.equal(tree[0]!.pid, shell.pid);
    const sampler = new ProcessTreeSampler();
    sampler.sample(shell.pid!);
    await sleep(1000);
    const stats = sampler.sample(shell.pid!);
    assert.equal(stats.pids.length, 4);
    assert.ok(stats.cpuPercent! > 10, `the tree's CPU counts its busy child: ${stats.cpuPercent}%`);
    // The busy node child grows after its start: compare with the tree as it is now.
    const sum = readProcessTree(shell.pid!).reduce((n, p) => n + p.rssBytes, 0);
    assert.ok(stats.rssBytes > 5 * 1024 ** 2 && stats.rssBytes < sum * 2, `tree RSS ${formatBytes(stats.rssBytes)}, the tree's processes ${formatBytes(sum)}`);
    // Kill the whole group: the shell's children would outlive it otherwise.
    for (const p of tree.slice().reverse()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
