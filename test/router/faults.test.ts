import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRoot } from '../../src/bus/root.js';
import { journalLines } from '../../src/journal/reader.js';
import { Router } from '../../src/router/router.js';
import { cli, startRouter, tempDir, tempRoot, waitFor, type RunningRouter } from '../helpers/bus.js';
import { InboxTap, writeFifo } from '../helpers/inbox.js';

const journalText = (root: string): string[] => [...journalLines(path.join(root, 'journal'), 0)].map((l) => l.line);
const deadLetters = (root: string): Array<Record<string, unknown>> => {
  const file = path.join(root, 'deadletter.ndjson');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
};

describe('poison lines, forged ids and exact bodies', () => {
  let root: string;
  let cleanup: () => void;
  let router: RunningRouter;
  let inbox: InboxTap;
  let bus: string;

  before(async () => {
    ({ root, cleanup } = tempRoot());
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
    assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1', '--role', 'dev'])).code, 0);
    router = await startRouter(root);
    inbox = new InboxTap(path.join(root, 'inbox', 'dev-1.pipe'));
    bus = path.join(root, 'bus.pipe');
  });
  after(async () => {
    inbox.close();
    await router.stop();
    cleanup();
  });

  test('100,000 nested brackets are dead-lettered too_deep; the stream goes on, and a restarted router replays past it', async () => {
    const deep = `{"to":"dev-1","body":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    await writeFifo(bus, `{"to":"dev-1","body":"before-deep"}\n${deep}\n{"to":"dev-1","body":"after-deep"}\n`);
    await inbox.waitFor((m) => m.body === 'after-deep');
    const dead = await waitFor(() => deadLetters(root).find((d) => d.reason === 'too_deep'), 10_000, 'the too_deep dead letter');
    assert.equal(dead.bytes, Buffer.byteLength(deep));
    // A router killed now replays the intake from its mark: the same line must not stop it either.
    await router.stop('SIGKILL');
    router = await startRouter(root);
    await writeFifo(bus, '{"to":"dev-1","body":"after-restart"}\n');
    await inbox.waitFor((m) => m.body === 'after-restart');
    assert.equal((await cli(['--dir', root, 'status', '--json'])).code, 0);
    assert.equal(deadLetters(root).filter((d) => d.reason === 'too_deep').length, 1, 'dead-lettered once, not again on replay');
  });

  test("a writer's id is an idempotency key: a second message with it is dead-lettered duplicate_id, also after a restart", async () => {
    const line = (body: string): string => JSON.stringify({ id: 'order-42', ts: '2026-12-01T00:00:00.000Z', from: 'user', to: 'dev-1', type: 'message', body });
    await writeFifo(bus, `${line('first')}\n${JSON.stringify({ id: 'order-42', to: 'dev-1', body: 'partial copy' })}\n{"to":"dev-1","body":"dup-marker"}\n`);
    await inbox.waitFor((m) => m.body === 'dup-marker');
    await router.stop();
    router = await startRouter(root);
    await writeFifo(bus, `${line('after restart')}\n{"to":"dev-1","body":"dup-marker-2"}\n`);
    await inbox.waitFor((m) => m.body === 'dup-marker-2');
    const withId = journalText(root).filter((l) => (JSON.parse(l) as { id: string }).id === 'order-42');
    assert.deepEqual(withId, [line('first')]);
    const dups = deadLetters(root).filter((d) => d.reason === 'duplicate_id');
    assert.equal(dups.length, 2);
    assert.ok(dups.every((d) => d.duplicate_of === 'order-42' && d.pipe === 'bus.pipe'));
    assert.equal(inbox.messages.filter((m) => m.id === 'order-42').length, 1, 'delivered once');
  });

  test('bodies are journaled exactly as written on every path: partial envelope, bare object, role address, spool, send --body-json', async () => {
    const exotic = '{"big":123456789012345678901234567890123,"inf":1e999999,"neg":-0,"esc":"\\u00e9\\ud800","deep":[1.0,2.50]}';
    await writeFifo(
      bus,
      [
        `{"to":"dev-1","type":"task","body":${exotic}}`, // partial envelope
        `{"to":"role:dev","body":${exotic}}`, // the router adds rcpt
      ].join('\n') + '\n',
    );
    const pair = (await cli(['--dir', root, 'pipe', 'src', 'dev-1'])).stdout.trim();
    await writeFifo(pair, `${exotic}\n`); // an object with no envelope field is the body
    const sent = await cli(['--dir', root, 'send', 'dev-1', '--body-json', exotic]);
    assert.equal(sent.code, 0, sent.stderr);
    const long = `{"pad":"${'p'.repeat(5000)}","n":1e999999}`; // over 4096 bytes: goes through a spool file
    const spooled = await cli(['--dir', root, 'send', 'dev-1', '--body-json', long]);
    assert.equal(spooled.code, 0, spooled.stderr);
    await waitFor(() => journalText(root).some((l) => l.includes(long)), 10_000, 'the spooled message');
    const lines = journalText(root).filter((l) => l.includes('"big"'));
    assert.equal(lines.length, 4);
    for (const l of lines) assert.ok(l.includes(`"body":${exotic}`), `body kept in ${l}`);
    assert.ok(lines.some((l) => l.endsWith(`"body":${exotic},"rcpt":"dev-1"}`)), 'the role choice is added, the body untouched');
    assert.ok(journalText(root).some((l) => l.includes(`"body":${long}`)));
  });
});

describe('resources and prune', () => {
  test('Router.close() releases every file descriptor (20 start/close cycles)', async () => {
    const { root, cleanup } = tempRoot();
    try {
      assert.equal((await cli(['--dir', root, 'init'])).code, 0);
      assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1'])).code, 0);
      const layout = openRoot(root);
      const fds = (): number => fs.readdirSync('/proc/self/fd').length;
      const cycle = async (): Promise<void> => {
        const router = new Router(layout, { statusIntervalMs: 50 });
        await router.start();
        await router.close();
      };
      await cycle(); // the first loads modules and opens what stays open for good (chokidar's, libuv's)
      const start = fds();
      for (let i = 0; i < 20; i++) await cycle();
      assert.equal(fds(), start);
    } finally {
      cleanup();
    }
  });

  test('prune fails closed: a read position it cannot read stops it, with the reason', async () => {
    const { root, cleanup } = tempRoot();
    try {
      assert.equal((await cli(['--dir', root, 'init'])).code, 0);
      fs.writeFileSync(path.join(root, 'state', 'read', 'dev-1.json'), '{"offset":', { mode: 0o600 });
      const broken = await cli(['--dir', root, 'prune', '--older-than', '0s']);
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /^bmad-bus: Refusing to prune: cannot read the read position .*dev-1\.json/);
      fs.writeFileSync(path.join(root, 'state', 'read', 'dev-1.json'), '{"note":"no offset"}', { mode: 0o600 });
      assert.match((await cli(['--dir', root, 'prune', '--older-than', '0s'])).stderr, /holds no offset/);
      fs.rmSync(path.join(root, 'state', 'read'), { recursive: true });
      fs.writeFileSync(path.join(root, 'state', 'read'), 'not a directory', { mode: 0o600 });
      assert.match((await cli(['--dir', root, 'prune', '--older-than', '0s'])).stderr, /cannot list the read positions/);
    } finally {
      cleanup();
    }
  });
});

describe('the directories above the root, and a root swapped under the router', () => {
  test("a root whose parent another user owns, or that anyone may write without the sticky bit, is refused; /tmp's sticky 1777 is fine", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const theirs = path.join(dir, 'theirs');
      fs.mkdirSync(theirs, { mode: 0o755 });
      fs.chownSync(theirs, 65534, 65534);
      const a = await cli(['--dir', path.join(theirs, 'bus'), 'init']);
      assert.equal(a.code, 1);
      assert.match(a.stderr, /^bmad-bus: Refusing .*: the directory .*theirs above it is owned by uid 65534, not by you or root\n$/);
      const open = path.join(dir, 'open');
      fs.mkdirSync(open);
      fs.chmodSync(open, 0o777);
      const b = await cli(['--dir', path.join(open, 'bus'), 'init']);
      assert.equal(b.code, 1);
      assert.match(b.stderr, /writable by other users and not sticky \(mode 0777\)/);
      fs.chmodSync(open, 0o1777);
      assert.equal((await cli(['--dir', path.join(open, 'bus'), 'init'])).code, 0);
      // An existing root is checked the same way when it is opened.
      fs.chmodSync(open, 0o777);
      assert.equal((await cli(['--dir', path.join(open, 'bus'), 'status'])).code, 1);
    } finally {
      cleanup();
    }
  });

  test('a root replaced by a symlink while the router runs gets nothing created in the target; a symlinked inbox is called a symlink', async () => {
    const { dir, cleanup } = tempDir();
    const root = path.join(dir, 'bus');
    const loot = path.join(dir, 'loot');
    let router: RunningRouter | undefined;
    try {
      assert.equal((await cli(['--dir', root, 'init'])).code, 0);
      assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1'])).code, 0);
      assert.equal((await cli(['--dir', root, 'agents', 'add', 'qa-1'])).code, 0);
      router = await startRouter(root);
      // A symlink where an inbox should be: status says so in words.
      const qaInbox = path.join(root, 'inbox', 'qa-1.pipe');
      fs.rmSync(qaInbox);
      fs.symlinkSync('/dev/null', qaInbox);
      assert.equal((await cli(['--dir', root, 'send', 'qa-1', 'hello'])).code, 0);
      await waitFor(async () => /qa-1.*it is a symlink/s.test((await cli(['--dir', root, 'status'])).stdout), 10_000, 'status naming the symlink');
      // Now the attack: the inbox FIFO is gone, and the root is swapped for a symlink to someone's directory.
      fs.rmSync(path.join(root, 'inbox', 'dev-1.pipe'));
      fs.mkdirSync(path.join(loot, 'inbox'), { recursive: true, mode: 0o700 });
      fs.renameSync(root, `${root}.old`);
      fs.symlinkSync(loot, root);
      await writeFifo(path.join(`${root}.old`, 'bus.pipe'), '{"to":"dev-1","body":"x"}\n').catch(() => undefined);
      const code = await waitFor(() => router!.child.exitCode ?? undefined, 10_000, 'the router to stop');
      assert.equal(code, 1);
      assert.match(router.stderr(), /was removed or replaced; stopping/);
      assert.deepEqual(fs.readdirSync(path.join(loot, 'inbox')), []);
    } finally {
      await router?.stop();
      cleanup();
    }
  });
});
