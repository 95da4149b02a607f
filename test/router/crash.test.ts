import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readLiveKeeperStatus } from '../../src/router/router-status.js';
import { cli, tempRoot, waitFor } from '../helpers/bus.js';
import { checkSequences, exited, inboxBodies, journalBodies, shellWriter } from '../helpers/traffic.js';

const root = tempRoot();
const layout = new Layout(root.root);
const children: ChildProcess[] = [];

after(async () => {
  // The reader loop runs cat as its child: kill the whole group it leads.
  for (const child of children) {
    try {
      process.kill(child.pid!, 'SIGKILL');
      if (child.spawnargs.includes('reader')) process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await cli(['--dir', root.root, 'stop']);
  root.cleanup();
});

test('kill -9 of the router mid-stream, several times: every message arrives, uncorrupted, in order per sender', async () => {
  await cli(['--dir', root.root, 'init']);
  await cli(['--dir', root.root, 'agents', 'add', 'sink']);
  const started = await cli(['--dir', root.root, 'start']);
  assert.equal(started.code, 0, started.stderr);

  // A reader that comes back whenever the router (its writer) goes away, as a bus.sh loop does.
  const inboxCopy = `${root.root}/../inbox-copy.ndjson`;
  const reader = spawn('bash', ['-c', 'while :; do cat "$1" >> "$2"; done', 'reader', layout.inboxPipe('sink'), inboxCopy], { stdio: 'ignore', detached: true });
  children.push(reader);

  const perWriter = 4000;
  const counts: Record<string, number> = {};
  const writers: ChildProcess[] = [];
  for (let w = 1; w <= 3; w++) {
    const sender = `w${w}`;
    const pipe = (await cli(['--dir', root.root, 'pipe', sender, 'sink'])).stdout.trim();
    writers.push(shellWriter(pipe, sender, perWriter));
    counts[sender] = perWriter;
  }
  for (let w = 4; w <= 5; w++) {
    const sender = `w${w}`;
    writers.push(shellWriter(layout.busPipe, sender, perWriter, 'sink'));
    counts[sender] = perWriter;
  }
  children.push(...writers);
  const total = 5 * perWriter;

  // Kill the router (never the keeper) while the writers write.
  const killed: number[] = [];
  for (let round = 0; round < 4; round++) {
    const pid = await waitFor(() => {
      const keeper = readLiveKeeperStatus(layout);
      return keeper?.router_pid && !killed.includes(keeper.router_pid) ? keeper.router_pid : undefined;
    }, 20_000, 'a (new) router pid');
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
    process.kill(pid, 'SIGKILL');
    killed.push(pid);
  }
  assert.deepEqual(await Promise.all(writers.map(exited)), Array(writers.length).fill(0));

  try {
    await waitFor(() => journalBodies(layout.journalDir).bodies.length >= total, 60_000, 'every message in the journal');
  } catch (error) {
    const log = fs.existsSync(layout.routerLog) ? fs.readFileSync(layout.routerLog, 'utf8').split('\n').slice(-30).join('\n') : '';
    const problems = checkSequences(journalBodies(layout.journalDir).bodies, counts, true);
    throw new Error(`${(error as Error).message}\n${problems.join('\n')}\nrouter log:\n${log}`);
  }
  const { bodies, envelopes } = journalBodies(layout.journalDir);
  const problems = checkSequences(bodies, counts, true);
  assert.deepEqual(problems, [], `journal: ${problems.join('; ')}`);
  assert.equal(envelopes.length, total, 'nothing but the messages written, none corrupted');
  assert.equal(fs.existsSync(layout.deadLetterFile) ? fs.readFileSync(layout.deadLetterFile, 'utf8') : '', '', 'no dead letters');

  await waitFor(() => checkSequences(inboxBodies(inboxCopy), counts, false).length === 0, 60_000, 'every message at the inbox');
  const keeper = readLiveKeeperStatus(layout);
  assert.ok(keeper && keeper.restarts >= 4, `keeper counted ${keeper?.restarts} restarts`);
});
