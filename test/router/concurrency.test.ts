import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { cli, startRouter, tempRoot, waitFor, type RunningRouter } from '../helpers/bus.js';
import { checkSequences, exited, inboxBodies, journalBodies, shellWriter } from '../helpers/traffic.js';

const root = tempRoot();
const layout = new Layout(root.root);
let router: RunningRouter;
let reader: ReturnType<typeof spawn> | undefined;

before(async () => {
  await cli(['--dir', root.root, 'init']);
  await cli(['--dir', root.root, 'agents', 'add', 'sink']);
  router = await startRouter(root.root);
});

after(async () => {
  if (reader?.pid) {
    try {
      process.kill(-reader.pid, 'SIGKILL'); // bash and its cat
    } catch {
      // already gone
    }
  }
  await router?.stop();
  root.cleanup();
});

test('8 shell writers and 2 send processes: 20,000 messages, exactly once in the journal, at least once at the inbox, in order per sender', async () => {
  const inboxCopy = `${root.root}/../inbox-copy.ndjson`;
  // A real reader: cat appending the inbox to a file.
  reader = spawn('bash', ['-c', 'cat "$1" >> "$2"', 'reader', layout.inboxPipe('sink'), inboxCopy], { stdio: 'ignore', detached: true });
  const perShell = 2000;
  const perSend = 2000;
  const counts: Record<string, number> = {};
  const writers = [];
  for (let w = 1; w <= 4; w++) {
    const sender = `w${w}`;
    const pipe = (await cli(['--dir', root.root, 'pipe', sender, 'sink'])).stdout.trim();
    writers.push(shellWriter(pipe, sender, perShell));
    counts[sender] = perShell;
  }
  for (let w = 5; w <= 8; w++) {
    const sender = `w${w}`;
    writers.push(shellWriter(layout.busPipe, sender, perShell, 'sink'));
    counts[sender] = perShell;
  }
  const sends = [1, 2].map((n) => {
    const sender = `s${n}`;
    counts[sender] = perSend;
    const lines = Array.from({ length: perSend }, (_, i) => JSON.stringify({ s: sender, i: i + 1 })).join('\n');
    return cli(['--dir', root.root, 'send', 'sink', '--from', sender, '--body-json'], { input: `${lines}\n`, timeoutMs: 120_000 });
  });
  const codes = await Promise.all(writers.map(exited));
  assert.deepEqual(codes, Array(8).fill(0));
  for (const result of await Promise.all(sends)) assert.equal(result.code, 0, result.stderr);
  const total = 8 * perShell + 2 * perSend;

  await waitFor(() => journalBodies(layout.journalDir).bodies.length >= total, 60_000, 'all messages in the journal');
  const { bodies, envelopes } = journalBodies(layout.journalDir);
  assert.equal(bodies.length, total);
  assert.deepEqual(checkSequences(bodies, counts, true), []);
  // The pair pipe's name says who sent; bus.pipe and send say it in the line.
  for (const e of envelopes) assert.equal(e.from, (e.body as { s: string }).s);
  assert.equal(new Set(envelopes.map((e) => e.id)).size, envelopes.length, 'ids are unique');

  await waitFor(() => inboxBodies(inboxCopy).length >= total, 60_000, 'all messages at the inbox');
  assert.deepEqual(checkSequences(inboxBodies(inboxCopy), counts, false), []);
});
