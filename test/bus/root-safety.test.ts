import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { cli, startRouter, tempDir, tempRoot, waitFor, type RunningRouter } from '../helpers/bus.js';

const NAME_RULE = '[a-z0-9][a-z0-9._-]{0,63}';
const uid = process.getuid!();

/** Asserts a command failed with exactly this one line on stderr and this exit code. */
function failsWith(result: { code: number; stdout: string; stderr: string }, code: number, line: string): void {
  assert.equal(result.stderr, `bmad-bus: ${line}\n`);
  assert.equal(result.code, code, `exit code (stderr: ${result.stderr})`);
  assert.equal(result.stdout, '');
}

const mode = (file: string) => fs.lstatSync(file).mode & 0o777;

describe('the bus root on a hostile /tmp', () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  test('a root that is a symlink is refused (init, router, start, send, agents)', async () => {
    const real = path.join(tmp.dir, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    const root = path.join(tmp.dir, 'bus');
    fs.symlinkSync(real, root);
    const line = `Refusing ${root}: it is a symlink (expected a directory)`;
    for (const args of [['init'], ['router'], ['start'], ['send', 'orchestrator', 'hi'], ['agents', 'add', 'dev-1'], ['status'], ['pipe', 'a', 'b']]) {
      failsWith(await cli(['--dir', root, ...args], { timeoutMs: 20_000 }), 1, line);
    }
    // Nothing was created through the link.
    assert.deepEqual(fs.readdirSync(real), []);
  });

  test('a root owned by another user is refused', async () => {
    const root = path.join(tmp.dir, 'bus');
    fs.mkdirSync(root, { mode: 0o700 });
    fs.chownSync(root, 65534, 65534);
    const line = `Refusing ${root}: owned by uid 65534, not by you (uid ${uid})`;
    for (const args of [['init'], ['router'], ['send', 'orchestrator', 'hi'], ['agents', 'add', 'dev-1']]) {
      failsWith(await cli(['--dir', root, ...args], { timeoutMs: 20_000 }), 1, line);
    }
    assert.deepEqual(fs.readdirSync(root), []);
  });

  test('a root with mode 0777 (or 0750) is refused, with the fix in the message', async () => {
    const root = path.join(tmp.dir, 'bus');
    fs.mkdirSync(root);
    fs.chmodSync(root, 0o777);
    failsWith(await cli(['--dir', root, 'init']), 1, `Refusing ${root}: mode 0777 lets other users in (expected 0700; run \`chmod 700 ${root}\` if it is yours)`);
    failsWith(await cli(['--dir', root, 'router'], { timeoutMs: 20_000 }), 1, `Refusing ${root}: mode 0777 lets other users in (expected 0700; run \`chmod 700 ${root}\` if it is yours)`);
    fs.chmodSync(root, 0o750);
    failsWith(await cli(['--dir', root, 'send', 'orchestrator', 'x']), 1, `Refusing ${root}: mode 0750 lets other users in (expected 0700; run \`chmod 700 ${root}\` if it is yours)`);
    assert.deepEqual(fs.readdirSync(root), []);
  });

  test('a regular file where the root should be is refused', async () => {
    const root = path.join(tmp.dir, 'bus');
    fs.writeFileSync(root, 'not a directory');
    failsWith(await cli(['--dir', root, 'init']), 1, `Refusing ${root}: expected a directory, found a regular file`);
  });

  test('a subdirectory that is too open is refused', async () => {
    const root = path.join(tmp.dir, 'bus');
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
    fs.chmodSync(path.join(root, 'journal'), 0o755);
    const journal = path.join(root, 'journal');
    failsWith(await cli(['--dir', root, 'init']), 1, `Refusing ${journal}: mode 0755 lets other users in (expected 0700; run \`chmod 700 ${journal}\` if it is yours)`);
    failsWith(await cli(['--dir', root, 'router'], { timeoutMs: 20_000 }), 1, `Refusing ${journal}: mode 0755 lets other users in (expected 0700; run \`chmod 700 ${journal}\` if it is yours)`);
  });

  test('init creates mode 0700 directories and 0600 FIFOs, idempotently, even under a loose umask', async () => {
    const root = path.join(tmp.dir, 'deep', 'bus');
    const first = await cli(['--dir', root, 'init']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `${root}\n`);
    const again = await cli(['--dir', root, 'init'], { env: { BMAD_BUS_DIR: '/nonexistent' } });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `${root}\n`);
    assert.equal(mode(root), 0o700);
    for (const dir of ['agents', 'inbox', 'journal', 'spool', 'state', 'state/read', 'log']) {
      const st = fs.lstatSync(path.join(root, dir));
      assert.ok(st.isDirectory(), dir);
      assert.equal(st.mode & 0o777, 0o700, dir);
      assert.equal(st.uid, uid);
    }
    for (const pipe of ['orchestrator.pipe', 'broadcast.pipe', 'bus.pipe', 'inbox/orchestrator.pipe']) {
      const st = fs.lstatSync(path.join(root, pipe));
      assert.ok(st.isFIFO(), pipe);
      assert.equal(st.mode & 0o777, 0o600, pipe);
    }
    // Files the bus writes are private too.
    assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1'])).code, 0);
    assert.equal((await cli(['--dir', root, 'send', 'dev-1', 'hello'])).code, 0);
    assert.equal(mode(path.join(root, 'inbox', 'dev-1.pipe')), 0o600);
    assert.equal(mode(path.join(root, 'state', 'agents.json')), 0o600);
    for (const seg of fs.readdirSync(path.join(root, 'journal'))) assert.equal(mode(path.join(root, 'journal', seg)), 0o600, seg);
    const pipe = await cli(['--dir', root, 'pipe', 'dev-1', 'orchestrator']);
    assert.equal(pipe.stdout, `${path.join(root, 'agents', 'dev-1-to-orchestrator.pipe')}\n`);
    assert.equal(mode(path.join(root, 'agents', 'dev-1-to-orchestrator.pipe')), 0o600);
  });
});

describe('pipes that are not FIFOs', () => {
  let tmp: { root: string; cleanup: () => void };
  let root: string;
  beforeEach(async () => {
    tmp = tempRoot();
    root = tmp.root;
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
  });
  afterEach(() => tmp.cleanup());

  const replaceWithFile = (file: string) => {
    fs.rmSync(file);
    fs.writeFileSync(file, '', { mode: 0o600 });
  };
  const replaceWithSymlink = (file: string, target: string) => {
    fs.rmSync(file, { force: true });
    fs.symlinkSync(target, file);
  };

  test('a regular file as orchestrator.pipe: init and the router refuse', async () => {
    const file = path.join(root, 'orchestrator.pipe');
    replaceWithFile(file);
    failsWith(await cli(['--dir', root, 'init']), 1, `Refusing ${file}: expected a fifo, found a regular file`);
    failsWith(await cli(['--dir', root, 'router'], { timeoutMs: 20_000 }), 1, `Refusing ${file}: expected a fifo, found a regular file`);
  });

  test('a symlink as broadcast.pipe: the router refuses and the target is untouched', async () => {
    const target = path.join(path.dirname(root), 'elsewhere.pipe');
    fs.writeFileSync(target, 'precious');
    const file = path.join(root, 'broadcast.pipe');
    replaceWithSymlink(file, target);
    failsWith(await cli(['--dir', root, 'router'], { timeoutMs: 20_000 }), 1, `Refusing ${file}: it is a symlink (expected a fifo)`);
    assert.equal(fs.readFileSync(target, 'utf8'), 'precious');
  });

  test('a regular file or a symlink as bus.pipe: send refuses instead of writing into it', async () => {
    const file = path.join(root, 'bus.pipe');
    replaceWithFile(file);
    failsWith(await cli(['--dir', root, 'send', 'orchestrator', 'lost?']), 1, `Refusing ${file}: expected a fifo, found a regular file`);
    assert.equal(fs.readFileSync(file, 'utf8'), '');
    const target = path.join(path.dirname(root), 'target');
    fs.writeFileSync(target, '');
    replaceWithSymlink(file, target);
    failsWith(await cli(['--dir', root, 'send', 'orchestrator', 'lost?']), 1, `Refusing ${file}: it is a symlink (expected a fifo)`);
    assert.equal(fs.readFileSync(target, 'utf8'), '');
  });

  test('an inbox pipe that is a regular file or a symlink: agents add refuses', async () => {
    const inbox = path.join(root, 'inbox', 'dev-1.pipe');
    fs.writeFileSync(inbox, '');
    failsWith(await cli(['--dir', root, 'agents', 'add', 'dev-1']), 1, `Refusing ${inbox}: expected a fifo, found a regular file`);
    const target = path.join(path.dirname(root), 'passwd');
    fs.writeFileSync(target, 'root:x:0:0');
    replaceWithSymlink(inbox, target);
    failsWith(await cli(['--dir', root, 'agents', 'add', 'dev-1']), 1, `Refusing ${inbox}: it is a symlink (expected a fifo)`);
    assert.equal(fs.readFileSync(target, 'utf8'), 'root:x:0:0');
  });

  test('a pair pipe that is a regular file or a symlink: `pipe` refuses', async () => {
    const pair = path.join(root, 'agents', 'a-to-b.pipe');
    fs.writeFileSync(pair, '');
    failsWith(await cli(['--dir', root, 'pipe', 'a', 'b']), 1, `Refusing ${pair}: expected a fifo, found a regular file`);
    replaceWithSymlink(pair, '/dev/null');
    failsWith(await cli(['--dir', root, 'pipe', 'a', 'b']), 1, `Refusing ${pair}: it is a symlink (expected a fifo)`);
  });

  describe('with a router running', () => {
    let router: RunningRouter | undefined;
    afterEach(async () => {
      await router?.stop();
      router = undefined;
    });

    test('it does not read a pair pipe that is a regular file or a symlink, and says so once', async () => {
      const file = path.join(root, 'agents', 'x-to-orchestrator.pipe');
      fs.writeFileSync(file, '{"body":"planted"}\n');
      fs.symlinkSync(path.join(root, 'orchestrator.pipe'), path.join(root, 'agents', 'y-to-orchestrator.pipe'));
      router = await startRouter(root);
      const stderr = router.stderr();
      assert.match(stderr, new RegExp(`agents/x-to-orchestrator\\.pipe: not opened: Refusing ${escape(file)}: expected a fifo, found a regular file\\n`));
      assert.match(stderr, new RegExp(`agents/y-to-orchestrator\\.pipe: not opened: Refusing ${escape(path.join(root, 'agents', 'y-to-orchestrator.pipe'))}: it is a symlink \\(expected a fifo\\)\\n`));
      // One created while it runs is refused the same way.
      const later = path.join(root, 'agents', 'z-to-orchestrator.pipe');
      fs.writeFileSync(later, '');
      await waitFor(() => router!.stderr().includes(`agents/z-to-orchestrator.pipe: not opened: Refusing ${later}: expected a fifo, found a regular file`), 10_000, 'refusal of the late pair pipe');
      // The bus still works.
      assert.equal((await cli(['--dir', root, 'send', 'orchestrator', 'still fine'])).code, 0);
      const read = await waitFor(async () => {
        const r = await cli(['--dir', root, 'read', 'orchestrator', '--all', '--json']);
        return r.stdout.includes('still fine') ? r.stdout : undefined;
      });
      assert.equal(read.trim().split('\n').length, 1);
      assert.ok(!read.includes('planted'));
      for (const name of ['x', 'y', 'z']) {
        assert.equal(router.stderr().split(`agents/${name}-to-orchestrator.pipe: not opened`).length - 1, 1, `one line for ${name}`);
      }
    });

    test('an inbox that became a regular file is never written; status says why', async () => {
      assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1'])).code, 0);
      const inbox = path.join(root, 'inbox', 'dev-1.pipe');
      replaceWithFile(inbox);
      router = await startRouter(root);
      assert.equal((await cli(['--dir', root, 'send', 'dev-1', 'secret'])).code, 0);
      const status = await waitFor(async () => {
        const r = await cli(['--dir', root, 'status', '--json']);
        const report = JSON.parse(r.stdout) as { agents: Array<{ name: string; undelivered: number; waiting?: string }> };
        const dev = report.agents.find((a) => a.name === 'dev-1');
        return dev?.waiting && dev.undelivered === 1 ? dev : undefined;
      }, 10_000, 'waiting reason in status');
      assert.equal(status.waiting, `inbox unusable: Refusing ${inbox}: expected a fifo, found a regular file`);
      assert.equal(fs.readFileSync(inbox, 'utf8'), '');
    });
  });
});

describe('bad names on the command line', () => {
  let tmp: { root: string; cleanup: () => void };
  let root: string;
  before(async () => {
    tmp = tempRoot();
    root = tmp.root;
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
  });
  after(() => tmp.cleanup());

  const nameError = (what: string, name: string) => `Expected ${what} to match ${NAME_RULE}, got \`${name}\``;
  const toError = (to: string) => `Invalid to: expected an agent name, orchestrator, *, role:R, group:G or leader:G, got \`${to}\``;

  for (const bad of ['../x', '../../etc/passwd', 'Dev', 'a/b', '.hidden', 'x'.repeat(65)]) {
    test(`\`${bad.slice(0, 20)}\` is refused by agents add, pipe, send and read (exit 2)`, async () => {
      failsWith(await cli(['--dir', root, 'agents', 'add', bad]), 2, nameError('agent name', bad));
      failsWith(await cli(['--dir', root, 'pipe', bad, 'b']), 2, nameError('sender name', bad));
      failsWith(await cli(['--dir', root, 'pipe', 'a', bad]), 2, nameError('receiver name', bad));
      failsWith(await cli(['--dir', root, 'send', bad, 'hi']), 2, toError(bad));
      failsWith(await cli(['--dir', root, 'send', 'orchestrator', 'hi', '--from', bad]), 2, `Invalid from: expected an agent name, got \`${bad}\``);
      failsWith(await cli(['--dir', root, 'read', bad]), 2, nameError('agent name', bad));
      failsWith(await cli(['--dir', root, 'agents', 'add', 'ok-1', '--role', bad]), 2, nameError('role', bad));
    });
  }

  test('a pair of names that would make an ambiguous pipe is refused', async () => {
    failsWith(await cli(['--dir', root, 'pipe', 'a-to-b', 'c']), 2, 'A pair pipe for `a-to-b` → `c` would be ambiguous: neither name may contain `-to-`');
  });

  test('nothing escaped the root', () => {
    const parent = path.dirname(root);
    assert.deepEqual(fs.readdirSync(parent), ['bus']);
    assert.deepEqual(fs.readdirSync(path.join(root, 'inbox')), ['orchestrator.pipe']);
    assert.deepEqual(fs.readdirSync(path.join(root, 'agents')), []);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
