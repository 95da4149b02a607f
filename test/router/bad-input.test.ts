import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readJournal } from '../../src/journal/reader.js';
import type { DeadLetter } from '../../src/journal/dead-letters.js';
import { BIN, cli, startRouter, tempRoot, waitFor, type RunningRouter } from '../helpers/bus.js';
import { InboxTap, writeFifo } from '../helpers/inbox.js';

type Envelope = { id: string; ts: string; from: string; to: string; type: string; body: unknown };

/** One bus root with a router, an agent `dev-1` whose inbox the test reads, and a pair pipe src → dev-1. */
class Bench {
  root!: string;
  cleanup!: () => void;
  router!: RunningRouter;
  inbox!: InboxTap;
  pair!: string;
  deadSeen = 0;
  private stderrSeen = 0;
  private serial = 0;

  async setUp(routerArgs: string[]): Promise<void> {
    ({ root: this.root, cleanup: this.cleanup } = tempRoot());
    assert.equal((await cli(['--dir', this.root, 'init'])).code, 0);
    assert.equal((await cli(['--dir', this.root, 'agents', 'add', 'dev-1'])).code, 0);
    this.pair = (await cli(['--dir', this.root, 'pipe', 'src', 'dev-1'])).stdout.trim();
    this.router = await startRouter(this.root, routerArgs);
    this.inbox = new InboxTap(path.join(this.root, 'inbox', 'dev-1.pipe'));
  }

  async tearDown(): Promise<void> {
    this.inbox?.close();
    const code = await this.router?.stop();
    this.cleanup?.();
    assert.equal(code, 0, 'the router exits 0 on SIGTERM');
  }

  get busPipe(): string {
    return path.join(this.root, 'bus.pipe');
  }

  /** Two valid marker lines for the neighbours of a bad one. */
  markers(): { before: string; after: string; tag: string } {
    const tag = `case-${++this.serial}`;
    return { before: `{"body":"${tag}-before"}`, after: `{"body":"${tag}-after"}`, tag };
  }

  /** The neighbours arrived in the journal and at the inbox, in order, from `from`. */
  async neighboursArrived(tag: string, from = 'src'): Promise<void> {
    const journal = await waitFor(() => {
      const bodies = this.journal().filter((e) => typeof e.body === 'string' && e.body.startsWith(`${tag}-`));
      return bodies.length === 2 ? bodies : undefined;
    }, 15_000, `${tag} in the journal`);
    assert.deepEqual(journal.map((e) => [e.from, e.to, e.body]), [[from, 'dev-1', `${tag}-before`], [from, 'dev-1', `${tag}-after`]]);
    await this.inbox.waitFor((m) => m.body === `${tag}-after`, 15_000, `${tag}-after at the inbox`);
    const got = this.inbox.messages.filter((m) => typeof m.body === 'string' && m.body.startsWith(`${tag}-`));
    assert.deepEqual(got.map((m) => m.id), journal.map((e) => e.id));
  }

  journal(): Envelope[] {
    const out: Envelope[] = [];
    let from = 0;
    for (;;) {
      const { lines, next } = readJournal(path.join(this.root, 'journal'), from);
      out.push(...lines.map((l) => JSON.parse(l.line) as Envelope));
      if (next === from) return out;
      from = next;
    }
  }

  /**
   * Waits for `n` new dead-letter records and returns them without their ts
   * (checked to be a time) and, for rejected lines, without the id the router
   * derives from where it read the line (checked to be an id).
   */
  async newDeadLetters(n: number): Promise<Array<Omit<DeadLetter, 'ts'>>> {
    const file = path.join(this.root, 'deadletter.ndjson');
    const records = await waitFor(() => {
      if (!fs.existsSync(file)) return undefined;
      const all = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeadLetter);
      return all.length >= this.deadSeen + n ? all : undefined;
    }, 15_000, `${n} new dead letter(s)`);
    assert.equal(records.length, this.deadSeen + n, 'no more dead letters than expected');
    const fresh = records.slice(this.deadSeen);
    this.deadSeen = records.length;
    return fresh.map(({ ts, ...rest }) => {
      assert.ok(!Number.isNaN(Date.parse(ts)), ts);
      if (rest.reason === 'unknown_recipient') return rest;
      const { id, ...line } = rest;
      if (id !== undefined) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      return line;
    });
  }

  /** New stderr lines of the router, without their timestamp and prefix. */
  newStderr(): string[] {
    const text = this.router.stderr();
    const fresh = text.slice(this.stderrSeen);
    const complete = fresh.slice(0, fresh.lastIndexOf('\n') + 1);
    this.stderrSeen += complete.length;
    return complete
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const match = /^\d{4}-\d\d-\d\dT[\d:.]+Z bmad-bus router: (.*)$/.exec(line);
        assert.ok(match, `router stderr line has the usual prefix: ${line}`);
        return match[1]!;
      });
  }

  /** Waits until the router has written these stderr lines (exactly these, nothing else new). */
  async expectStderr(lines: string[]): Promise<void> {
    const seen: string[] = [];
    await waitFor(() => {
      seen.push(...this.newStderr());
      return seen.length >= lines.length;
    }, 15_000, `stderr lines ${JSON.stringify(lines)}`);
    assert.deepEqual(seen, lines);
  }
}

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return `Invalid JSON: ${(error as Error).message}`;
  }
  throw new Error(`${text} is valid JSON`);
}

describe('router: bad input is dead-lettered and harms nothing around it (--max-line 4096, --hold 1s)', () => {
  const bench = new Bench();
  before(() => bench.setUp(['--max-line', '4096', '--hold', '1s']));
  after(() => bench.tearDown());

  test('invalid JSON', async () => {
    const { before, after, tag } = bench.markers();
    const bad = '{"body": nope, "to":"dev-1"}';
    await writeFifo(bench.pair, `${before}\n${bad}\n${after}\n`);
    const error = jsonError(bad);
    assert.deepEqual(await bench.newDeadLetters(1), [{ reason: 'invalid_json', error, pipe: 'agents/src-to-dev-1.pipe', bytes: bad.length, line: bad }]);
    await bench.expectStderr([`dead letter (invalid_json) on agents/src-to-dev-1.pipe: ${error}`]);
    await bench.neighboursArrived(tag);
  });

  test('binary garbage (not UTF-8) is kept as base64', async () => {
    const { before, after, tag } = bench.markers();
    const garbage = Buffer.from([0xff, 0xfe, 0x80, 0x41, 0xc3, 0x28, 0x7b, 0x90, 0xbf, 0x01]);
    await writeFifo(bench.pair, Buffer.concat([Buffer.from(`${before}\n`), garbage, Buffer.from(`\n${after}\n`)]));
    assert.deepEqual(await bench.newDeadLetters(1), [
      { reason: 'binary', error: 'Line is not valid UTF-8 text (binary data?)', pipe: 'agents/src-to-dev-1.pipe', bytes: 10, line: garbage.toString('base64'), encoding: 'base64' },
    ]);
    await bench.expectStderr(['dead letter (binary) on agents/src-to-dev-1.pipe: Line is not valid UTF-8 text (binary data?)']);
    await bench.neighboursArrived(tag);
  });

  test('terminal escape garbage (valid UTF-8, control characters)', async () => {
    const { before, after, tag } = bench.markers();
    const garbage = '\x1b[2J\x1b[31mboom\x07';
    await writeFifo(bench.pair, `${before}\n${garbage}\n${after}\n`);
    assert.deepEqual(await bench.newDeadLetters(1), [
      { reason: 'binary', error: 'Text line contains control characters (binary data?)', pipe: 'agents/src-to-dev-1.pipe', bytes: garbage.length, line: garbage },
    ]);
    await bench.expectStderr(['dead letter (binary) on agents/src-to-dev-1.pipe: Text line contains control characters (binary data?)']);
    await bench.neighboursArrived(tag);
  });

  test('NUL bytes', async () => {
    const { before, after, tag } = bench.markers();
    const bad = Buffer.from('{"body":"a\0b"}');
    await writeFifo(bench.busPipe, Buffer.concat([Buffer.from(`${before.replace('{', '{"to":"dev-1",')}\n`), bad, Buffer.from(`\n${after.replace('{', '{"to":"dev-1",')}\n`)]));
    assert.deepEqual(await bench.newDeadLetters(1), [
      { reason: 'nul_byte', error: 'Line contains a NUL byte', pipe: 'bus.pipe', bytes: bad.length, line: bad.toString('base64'), encoding: 'base64' },
    ]);
    await bench.expectStderr(['dead letter (nul_byte) on bus.pipe: Line contains a NUL byte']);
    await bench.neighboursArrived(tag, 'user');
  });

  test('a line over --max-line is skipped to the next newline; a line of exactly the limit is accepted', async () => {
    const { before, after, tag } = bench.markers();
    const big = `{"body":"${'x'.repeat(20_000)}"}`;
    const exact = JSON.stringify({ body: `exact-${tag}-${'y'.repeat(4096)}` }).slice(0, 4094) + '"}';
    assert.equal(Buffer.byteLength(exact), 4096);
    await writeFifo(bench.pair, `${before}\n${big}\n${exact}\n${after}\n`);
    const [record] = await bench.newDeadLetters(1);
    const match = /^Line longer than 4096 bytes \((\d+)\+ bytes\) skipped to the next newline$/.exec(record!.error);
    assert.ok(match, record!.error);
    const seen = Number(match[1]);
    assert.ok(seen > 4096 && seen <= big.length, `counted ${seen} bytes`);
    assert.deepEqual(record, { reason: 'too_long', error: record!.error, pipe: 'agents/src-to-dev-1.pipe', bytes: seen, line: big.slice(0, 256) });
    await bench.expectStderr([`dead letter (too_long) on agents/src-to-dev-1.pipe: ${record!.error}`]);
    await bench.neighboursArrived(tag);
    assert.ok(bench.journal().some((e) => typeof e.body === 'string' && e.body.startsWith(`exact-${tag}-`)));
  });

  test('an unknown recipient is held for --hold, then dead-lettered', async () => {
    const { before, after, tag } = bench.markers();
    const to = (line: string) => line.replace('{', '{"to":"dev-1",');
    await writeFifo(bench.busPipe, `${to(before)}\n{"to":"ghost","body":"ghost-${tag}"}\n${to(after)}\n`);
    // The message itself is accepted: it is in the journal at once.
    const ghost = await waitFor(() => bench.journal().find((e) => e.body === `ghost-${tag}`), 15_000, 'the ghost message in the journal');
    const [record] = await bench.newDeadLetters(1);
    const line = JSON.stringify({ id: ghost.id, ts: ghost.ts, from: 'user', to: 'ghost', type: 'message', body: `ghost-${tag}` });
    assert.deepEqual(record, { reason: 'unknown_recipient', error: 'No agent `ghost` registered within 1s', id: ghost.id, bytes: line.length, line });
    await bench.expectStderr(['dead letter (unknown_recipient): No agent `ghost` registered within 1s']);
    await bench.neighboursArrived(tag, 'user');
  });

  test('a forged from on a pair pipe: the pipe name wins, one stderr line, no dead letter', async () => {
    const { before, after, tag } = bench.markers();
    const forged = `{"id":"forged-${tag}","ts":"2025-01-01T00:00:00.000Z","from":"boss","to":"dev-1","type":"message","body":"forged-${tag}"}`;
    await writeFifo(bench.pair, `${before}\n${forged}\n${after}\n`);
    await bench.neighboursArrived(tag);
    const journaled = bench.journal().find((e) => e.id === `forged-${tag}`);
    assert.deepEqual(journaled, { id: `forged-${tag}`, ts: '2025-01-01T00:00:00.000Z', from: 'src', to: 'dev-1', type: 'message', body: `forged-${tag}` });
    const delivered = await bench.inbox.waitFor((m) => m.id === `forged-${tag}`);
    assert.equal(delivered.from, 'src');
    await bench.expectStderr(["forged from `boss` on agents/src-to-dev-1.pipe: the pipe's name wins, from is `src`"]);
    const file = path.join(bench.root, 'deadletter.ndjson');
    assert.equal(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length, bench.deadSeen, 'no new dead letter');
  });

  test('every delivered message is intact and in journal order', () => {
    const journalIds = bench.journal().filter((e) => e.to === 'dev-1').map((e) => e.id);
    assert.deepEqual(bench.inbox.messages.map((m) => m.id), journalIds);
  });
});

describe('router: default limits (1 MiB lines), registration within the hold, the spool', () => {
  const bench = new Bench();
  before(() => bench.setUp(['--hold', '30s']));
  after(() => bench.tearDown());

  test('a line of 1 MiB + 1 byte is dead-lettered; the stream resynchronises', async () => {
    const { before, after, tag } = bench.markers();
    const big = 'z'.repeat(1024 * 1024 + 1);
    await writeFifo(bench.pair, `${before}\n${big}\n${after}\n`);
    const [record] = await bench.newDeadLetters(1);
    const match = /^Line longer than 1048576 bytes \((\d+)\+ bytes\) skipped to the next newline$/.exec(record!.error);
    assert.ok(match, record!.error);
    assert.ok(Number(match[1]) === big.length, `counted ${match[1]} bytes`);
    assert.deepEqual(record, { reason: 'too_long', error: record!.error, pipe: 'agents/src-to-dev-1.pipe', bytes: big.length, line: big.slice(0, 256) });
    await bench.expectStderr([`dead letter (too_long) on agents/src-to-dev-1.pipe: ${record!.error}`]);
    await bench.neighboursArrived(tag);
  });

  test('an agent that registers within the hold gets its message', async () => {
    const sent = await cli(['--dir', bench.root, 'send', 'late-1', 'were you there?', '--from', 'dev-1']);
    assert.equal(sent.code, 0, sent.stderr);
    const id = sent.stdout.trim();
    await waitFor(() => {
      const status = JSON.parse(fs.readFileSync(path.join(bench.root, 'state', 'router-status.json'), 'utf8')) as { held: number };
      return status.held === 1;
    }, 15_000, 'the message to be held');
    assert.equal((await cli(['--dir', bench.root, 'agents', 'add', 'late-1'])).code, 0);
    const inbox = new InboxTap(path.join(bench.root, 'inbox', 'late-1.pipe'));
    try {
      const got = await inbox.waitFor((m) => m.id === id, 15_000, 'the held message at the new inbox');
      assert.deepEqual(
        { from: got.from, to: got.to, body: got.body },
        { from: 'dev-1', to: 'late-1', body: 'were you there?' },
      );
    } finally {
      inbox.close();
    }
    // Long after: no dead letter for it.
    await waitFor(() => {
      const status = JSON.parse(fs.readFileSync(path.join(bench.root, 'state', 'router-status.json'), 'utf8')) as { held: number };
      return status.held === 0;
    }, 15_000, 'nothing held any more');
    const dead = path.join(bench.root, 'deadletter.ndjson');
    const records = fs.existsSync(dead) ? fs.readFileSync(dead, 'utf8') : '';
    assert.ok(!records.includes(id));
    assert.deepEqual(bench.newStderr(), []);
  });

  test('a message over 4096 bytes from `send` goes through the spool and arrives intact', async () => {
    const body = `big:${crypto.randomBytes(60_000).toString('base64')}`;
    const sent = await cli(['--dir', bench.root, 'send', 'dev-1', body, '--from', 'src']);
    assert.equal(sent.code, 0, sent.stderr);
    const id = sent.stdout.trim();
    const got = await bench.inbox.waitFor((m) => m.id === id);
    assert.equal(got.body, body);
    assert.equal(bench.journal().find((e) => e.id === id)?.body, body);
    await waitFor(() => fs.readdirSync(path.join(bench.root, 'spool')).length === 0, 15_000, 'an empty spool');
  });

  test('4 send processes sending big messages at once: all arrive intact, in order per sender', async () => {
    const perSender = 15;
    const bodies = new Map<string, string[]>();
    const runs = [0, 1, 2, 3].map((s) => {
      const lines: string[] = [];
      for (let i = 0; i < perSender; i++) {
        // 3-40 KB, mixing small (packed) and spooled messages.
        const size = i % 3 === 0 ? 100 : 3000 + ((s * 7919 + i * 104_729) % 37_000);
        lines.push(`s${s}:${i}:${crypto.createHash('sha256').update(`${s}/${i}`).digest('hex').repeat(Math.ceil(size / 64)).slice(0, size)}`);
      }
      bodies.set(`w${s}`, lines);
      return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, '--dir', bench.root, 'send', 'dev-1', '--from', `w${s}`], { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(lines.join('\n') + '\n');
      });
    });
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal(results.flatMap((r) => r.stdout.trim().split('\n')).length, 4 * perSender);
    await waitFor(() => bench.inbox.messages.filter((m) => /^w\d$/.test(String(m.from))).length >= 4 * perSender, 20_000, 'all big messages at the inbox');
    for (const [from, expected] of bodies) {
      const got = bench.inbox.messages.filter((m) => m.from === from).map((m) => m.body);
      assert.equal(got.length, expected.length, `${from}: count`);
      assert.ok(got.every((b, i) => b === expected[i]), `${from}: intact and in order`);
      assert.deepEqual(bench.journal().filter((e) => e.from === from).map((e) => e.body), expected, `${from}: journal`);
    }
    await waitFor(() => fs.readdirSync(path.join(bench.root, 'spool')).length === 0, 15_000, 'an empty spool');
    assert.deepEqual(bench.newStderr(), []);
    assert.ok(!fs.existsSync(path.join(bench.root, 'deadletter.ndjson')) || !fs.readFileSync(path.join(bench.root, 'deadletter.ndjson'), 'utf8').includes('w0'));
  });
});
