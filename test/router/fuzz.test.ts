import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { journalLines } from '../../src/journal/reader.js';
import { readLiveKeeperStatus, readLiveRouterStatus } from '../../src/router/router-status.js';
import { cli, tempRoot, waitFor } from '../helpers/bus.js';
import { writeFifo } from '../helpers/inbox.js';
import { rssOf } from '../helpers/traffic.js';

/** A small deterministic random source: a failing seed can be run again. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** One hostile line (without its newline), of many kinds. */
function hostile(next: () => number, i: number): Buffer {
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  const depth = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  const kinds: Array<() => string | Buffer> = [
    () => `{"to":"dev-1","body":${depth(513 + Math.floor(next() * 3000))}}`,
    () => `{"body":${'{"a":'.repeat(600)}1${'}'.repeat(600)}}`,
    () => `{"to":"dev-1","body":{"big":${'9'.repeat(1 + Math.floor(next() * 400))}e${pick(['999999', '-999999', '+1'])}}}`,
    () => `{"to":"dev-1","body":[-0,1e999999,-1e999999,0.${'0'.repeat(300)}1]}`,
    () => `{"to":"dev-1","body":"${pick(['\\ud800', '\\udfff\\ud800', '\\u0000', '\\u001b[201~', '\\uffff'])}"}`,
    () => `\ufeff{"to":"dev-1","body":"bom"}`,
    () => `{"__proto__":{"to":"dev-1"},"body":1}`,
    () => `{"to":"dev-1","body":{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}}`,
    () => `{"constructor":1}`,
    () => `{"to":"dev-1","body":"${'a'.repeat(4095 - 25 + Math.floor(next() * 3))}"}`, // 4095-4097 bytes
    () => `${'b'.repeat(4094 + Math.floor(next() * 4))}`,
    () => Buffer.concat([Buffer.from('{"to":"dev-1","body":"'), Buffer.from([0]), Buffer.from('"}')]),
    () => Buffer.from([0xed, 0xa0, 0x80, 0x7b, 0xff, 0xfe, 0xc0, 0xaf]), // a raw lone surrogate, invalid UTF-8
    () => Buffer.from(Array.from({ length: 1 + Math.floor(next() * 300) }, () => { const b = Math.floor(next() * 256); return b === 0x0a ? 0x20 : b; })),
    () => `{"to":${pick(['1', 'null', '[]', '"../x"', '"role:"', '"a b"', `"${'x'.repeat(70)}"`])},"body":1}`,
    () => `{"to":"dev-1","from":${pick(['{}', '"*"', '"A"', '""'])},"body":1}`,
    () => `{"to":"dev-1","id":${pick(['""', '123', `"${'i'.repeat(200)}"`, '"\\u00e9"'])},"body":1}`,
    () => `{"to":"dev-1","ts":${pick(['"yesterday"', '1', '"2026-13-45T99:99:99Z"'])},"body":1}`,
    () => `{"to":"dev-1","type":${pick(['"no spaces allowed"', '5', `"${'t'.repeat(80)}"`])},"body":1}`,
    () => `{"$spool":${pick(['"../../etc/passwd"', '"01ARZ3NDEKTSV4RRFFQ69G5FAV.json"', '7'])}}`,
    () => `{"to":"dev-1","body":1,"rcpt":"dev-1"}`,
    () => `{"to":"dev-1","body":${'"x",'.repeat(50)}}`,
    () => `{"to":"dev-1" "body":1}`,
    () => `{"to":"dev-1","body":1}}}}`,
    () => `{${'"k":1,'.repeat(2000)}"to":"dev-1"}`,
    () => `plain text with an escape \u001b[31m red`,
    () => `{"id":"dup-${i % 50}","ts":"2026-12-01T00:00:00.000Z","from":"user","to":"dev-1","type":"message","body":"forged"}`,
  ];
  const line = pick(kinds)();
  return typeof line === 'string' ? Buffer.from(line) : line;
}

test('10,000 hostile lines between numbered messages: every numbered message arrives in order, no restart, memory bounded', async () => {
  const { root, cleanup } = tempRoot();
  const layout = new Layout(root);
  try {
    assert.equal((await cli(['--dir', root, 'init'])).code, 0);
    assert.equal((await cli(['--dir', root, 'agents', 'add', 'dev-1'])).code, 0);
    assert.equal((await cli(['--dir', root, 'start', '--hold', '1s'])).code, 0);
    const next = random(Number(process.env.BMAD_FUZZ_SEED ?? 20261201));
    const HOSTILE = 10_000;
    const NUMBERED = 1_000;
    let chunk: Buffer[] = [];
    let size = 0;
    let numbered = 0;
    let peakRss = 0;
    for (let i = 0; i < HOSTILE; i++) {
      chunk.push(hostile(next, i), Buffer.from('\n'));
      if (i % (HOSTILE / NUMBERED) === 0) chunk.push(Buffer.from(`{"to":"dev-1","body":{"n":${++numbered}}}\n`));
      size += chunk.at(-1)!.length;
      if (size > 256 * 1024 || i === HOSTILE - 1) {
        await writeFifo(layout.busPipe, Buffer.concat(chunk));
        chunk = [];
        size = 0;
        const router = readLiveRouterStatus(layout);
        if (router) peakRss = Math.max(peakRss, rssOf(router.pid));
      }
    }
    const got = await waitFor(() => {
      const ns: number[] = [];
      for (const l of journalLines(layout.journalDir, 0)) {
        const body = (JSON.parse(l.line) as { body?: { n?: unknown } }).body;
        if (body && typeof body === 'object' && typeof body.n === 'number') ns.push(body.n);
      }
      return ns.length >= NUMBERED ? ns : undefined;
    }, 120_000, 'every numbered message in the journal');
    assert.deepEqual(got, Array.from({ length: NUMBERED }, (_, i) => i + 1));
    const keeper = readLiveKeeperStatus(layout);
    assert.equal(keeper?.restarts, 0, `the router never restarted (last exit: ${keeper?.last_exit})`);
    const dead = fs.readFileSync(layout.deadLetterFile, 'utf8').split('\n').filter(Boolean).length;
    assert.ok(dead > HOSTILE / 2, `most hostile lines dead-lettered (${dead})`);
    const router = readLiveRouterStatus(layout)!;
    peakRss = Math.max(peakRss, rssOf(router.pid));
    assert.ok(peakRss < 200 * 1024 * 1024, `router RSS stayed bounded (${Math.round(peakRss / 2 ** 20)} MiB)`);
  } finally {
    await cli(['--dir', root, 'stop']).catch(() => undefined);
    cleanup();
  }
});
