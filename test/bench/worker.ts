// A bench worker: a long-lived child process that writes or reads messages on
// command (one JSON command per stdin line, one JSON reply per stdout line),
// so the bench spawns its writers and readers once and reuses them.
// Times are CLOCK_MONOTONIC (process.hrtime), the same clock in every process.
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

export type Command =
  | { op: 'write'; id: number; pipe: string; count: number; batch: boolean; from: string; to: string; rate?: number; stamp?: boolean }
  | { op: 'read'; id: number; pipe: string; count: number; stamp?: boolean; timeoutMs: number }
  | { op: 'natsPub'; id: number; port: number; subject: string; count: number; rate?: number; stamp?: boolean; from: string }
  | { op: 'natsSub'; id: number; port: number; subject: string; count: number; stamp?: boolean; timeoutMs: number }
  | { op: 'redisPub'; id: number; port: number; channel: string; count: number; from: string }
  | { op: 'redisSub'; id: number; port: number; channel: string; count: number; timeoutMs: number }
  | { op: 'redisXadd'; id: number; port: number; stream: string; count: number; from: string; rate?: number; stamp?: boolean }
  | { op: 'redisXread'; id: number; port: number; stream: string; count: number; stamp?: boolean; timeoutMs: number }
  | { op: 'exit'; id: number };

export interface Reply {
  id: number;
  error?: string;
  /** A reader is listening (the bench may start the writers). */
  ready?: boolean;
  start?: number;
  end?: number;
  count?: number;
  latency?: { n: number; p50: number; p99: number; p999: number; max: number };
}

export const LINE_BYTES = 200;
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** One 200-byte NDJSON line (newline included); with `stamp`, its body starts with the write time. */
export function makeLine(from: string, to: string, stamp?: number): string {
  const head = `{"from":"${from}","to":"${to}","body":"`;
  const mark = stamp === undefined ? '' : `@@${stamp.toFixed(3)};`;
  const pad = LINE_BYTES - head.length - mark.length - 3;
  return `${head}${mark}${'x'.repeat(Math.max(0, pad))}"}\n`;
}

const LINES_PER_BATCH = Math.floor(4096 / LINE_BYTES); // one atomic write (PIPE_BUF)

function reply(r: Reply): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Paced sending: calls `send(k)` with the number of messages due, then waits for the next. */
async function paced(count: number, rate: number, send: (k: number) => void | Promise<void>, maxK: number): Promise<void> {
  const start = nowMs();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((nowMs() - start) * rate) / 1000) + 1);
    if (due > sent) {
      const k = Math.min(due - sent, maxK);
      await send(k);
      sent += k;
      continue;
    }
    await sleep(Math.max(0, ((sent * 1000) / rate) - (nowMs() - start)));
  }
}

async function write(c: Extract<Command, { op: 'write' }>): Promise<Reply> {
  // Blocking fd: a full pipe parks this process in write(2) until the reader drains it.
  const fd = fs.openSync(c.pipe, fs.constants.O_WRONLY);
  try {
    const start = nowMs();
    if (c.rate) {
      await paced(c.count, c.rate, (k) => {
        const t = nowMs();
        let text = '';
        for (let i = 0; i < k; i++) text += makeLine(c.from, c.to, t);
        fs.writeSync(fd, text);
      }, c.batch ? LINES_PER_BATCH : 1);
    } else if (c.batch) {
      const one = makeLine(c.from, c.to);
      const full = Buffer.from(one.repeat(LINES_PER_BATCH));
      let left = c.count;
      while (left >= LINES_PER_BATCH) {
        fs.writeSync(fd, full);
        left -= LINES_PER_BATCH;
      }
      if (left > 0) fs.writeSync(fd, Buffer.from(one.repeat(left)));
    } else {
      const line = Buffer.from(makeLine(c.from, c.to));
      for (let i = 0; i < c.count; i++) fs.writeSync(fd, line);
    }
    return { id: c.id, start, end: nowMs(), count: c.count };
  } finally {
    fs.closeSync(fd);
  }
}

/** Latency figures (ms) from a list of samples. */
function percentiles(samples: number[]): Reply['latency'] {
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] ?? NaN };
}

/** Reads the write time after `@@` in a line (bytes). */
function stampOf(buf: Buffer | Uint8Array, from: number, to: number): number {
  const at = Buffer.prototype.indexOf.call(buf, '@@', from);
  if (at < 0 || at >= to) return NaN;
  const semi = Buffer.prototype.indexOf.call(buf, 0x3b, at);
  return Number(Buffer.from(buf.buffer, buf.byteOffset + at + 2, semi - at - 2).toString('latin1'));
}

interface Expectation {
  count: number;
  got: number;
  stamp: boolean;
  samples: number[];
  start: number;
  done: (r: Reply) => void;
}

/** Readers stay open between commands (a reader that left would make the router deliver again). */
const readers = new Map<string, { socket: net.Socket; expect?: Expectation; stray: number }>();

function openReader(pipe: string): { socket: net.Socket; expect?: Expectation; stray: number } {
  let r = readers.get(pipe);
  if (r) return r;
  const fd = fs.openSync(pipe, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const socket = new net.Socket({ fd, readable: true, writable: false });
  const entry: { socket: net.Socket; expect?: Expectation; stray: number } = { socket, stray: 0 };
  let tail = 0; // bytes of a line not yet complete, carried from the previous chunk
  socket.on('data', (chunk: Buffer) => {
    const e = entry.expect;
    let lines = 0;
    let at = chunk.indexOf(0x0a);
    let lineStart = 0;
    while (at >= 0) {
      if (e?.stamp && tail === 0) {
        const t = stampOf(chunk, lineStart, at);
        if (!Number.isNaN(t)) e.samples.push(nowMs() - t);
      }
      tail = 0;
      lines++;
      lineStart = at + 1;
      at = chunk.indexOf(0x0a, lineStart);
    }
    tail += chunk.length - lineStart;
    if (!e) {
      entry.stray += lines;
      return;
    }
    e.got += lines;
    if (e.got >= e.count) {
      entry.expect = undefined;
      entry.stray += e.got - e.count;
      e.done({ id: 0, start: e.start, end: nowMs(), count: e.got, ...(e.stamp ? { latency: percentiles(e.samples) } : {}) });
    }
  });
  socket.on('error', () => undefined);
  r = entry;
  readers.set(pipe, r);
  return r;
}

function read(c: Extract<Command, { op: 'read' }>): Promise<Reply> {
  const r = openReader(c.pipe);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const e = r.expect;
      r.expect = undefined;
      resolve({ id: c.id, error: `timed out after ${c.timeoutMs} ms with ${e?.got ?? 0} of ${c.count}`, count: e?.got ?? 0 });
    }, c.timeoutMs);
    r.expect = {
      count: c.count,
      got: 0,
      stamp: c.stamp ?? false,
      samples: [],
      start: nowMs(),
      done: (reply) => {
        clearTimeout(timer);
        resolve({ ...reply, id: c.id });
      },
    };
    reply({ id: c.id, ready: true });
  });
}

// ---- NATS and Redis baselines (clients loaded only when asked for) ----------

async function natsPub(c: Extract<Command, { op: 'natsPub' }>): Promise<Reply> {
  const { connect } = await import('nats');
  const nc = await connect({ servers: `127.0.0.1:${c.port}` });
  try {
    const start = nowMs();
    if (c.rate) {
      await paced(c.count, c.rate, async (k) => {
        const t = nowMs();
        for (let i = 0; i < k; i++) nc.publish(c.subject, Buffer.from(makeLine(c.from, 'sink', t)));
        await nc.flush(); // the message is on the wire now, not in the client's buffer
      }, LINES_PER_BATCH);
    } else {
      const data = Buffer.from(makeLine(c.from, 'sink'));
      for (let i = 0; i < c.count; i++) {
        nc.publish(c.subject, data);
        if (i % 2000 === 1999) await nc.flush(); // backpressure: the client buffers otherwise
      }
      await nc.flush();
    }
    return { id: c.id, start, end: nowMs(), count: c.count };
  } finally {
    await nc.close();
  }
}

async function natsSub(c: Extract<Command, { op: 'natsSub' }>): Promise<Reply> {
  const { connect } = await import('nats');
  const nc = await connect({ servers: `127.0.0.1:${c.port}` });
  const samples: number[] = [];
  let got = 0;
  const start = nowMs();
  try {
    return await new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => resolve({ id: c.id, error: `timed out with ${got} of ${c.count}`, count: got }), c.timeoutMs);
      nc.subscribe(c.subject, {
        callback: (_err, msg) => {
          if (c.stamp) {
            const t = stampOf(msg.data, 0, msg.data.length);
            if (!Number.isNaN(t)) samples.push(nowMs() - t);
          }
          if (++got === c.count) {
            clearTimeout(timer);
            resolve({ id: c.id, start, end: nowMs(), count: got, ...(c.stamp ? { latency: percentiles(samples) } : {}) });
          }
        },
      });
      void nc.flush().then(() => reply({ id: c.id, ready: true }));
    });
  } finally {
    await nc.close();
  }
}

/** Sends `count` 200-byte lines with one Redis command each (`add`), pipelined 1,000 at a time; paced at `rate` (stamped) when given. */
async function redisPipelined(c: { port: number; count: number; from: string; rate?: number }, add: (p: ReturnType<import('ioredis').Redis['pipeline']>, data: Buffer | string) => void): Promise<{ start: number; end: number }> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ port: c.port, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
  try {
    const start = nowMs();
    if (c.rate) {
      await paced(c.count, c.rate, async (k) => {
        const t = nowMs();
        const p = client.pipeline();
        for (let i = 0; i < k; i++) add(p, makeLine(c.from, 'sink', t));
        await p.exec();
      }, LINES_PER_BATCH);
    } else {
      const data = Buffer.from(makeLine(c.from, 'sink'));
      for (let sent = 0; sent < c.count; ) {
        const k = Math.min(1000, c.count - sent);
        const p = client.pipeline();
        for (let i = 0; i < k; i++) add(p, data);
        await p.exec();
        sent += k;
      }
    }
    return { start, end: nowMs() };
  } finally {
    client.disconnect();
  }
}

async function redisPub(c: Extract<Command, { op: 'redisPub' }>): Promise<Reply> {
  const { start, end } = await redisPipelined(c, (p, data) => p.publish(c.channel, data));
  return { id: c.id, start, end, count: c.count };
}

async function redisSub(c: Extract<Command, { op: 'redisSub' }>): Promise<Reply> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ port: c.port, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
  let got = 0;
  const start = nowMs();
  try {
    return await new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => resolve({ id: c.id, error: `timed out with ${got} of ${c.count}`, count: got }), c.timeoutMs);
      client.on('messageBuffer', () => {
        if (++got === c.count) {
          clearTimeout(timer);
          resolve({ id: c.id, start, end: nowMs(), count: got });
        }
      });
      void client.subscribe(c.channel).then(() => reply({ id: c.id, ready: true }));
    });
  } finally {
    client.disconnect();
  }
}

/** XADD of 200-byte lines, pipelined 1,000 at a time (paced at `rate`, stamped, when given). */
async function redisXadd(c: Extract<Command, { op: 'redisXadd' }>): Promise<Reply> {
  const { start, end } = await redisPipelined(c, (p, data) => p.xadd(c.stream, '*', 'd', data));
  return { id: c.id, start, end, count: c.count };
}

/** A consumer group's reader: XREADGROUP up to 1,000 at a time (blocking), then XACK of what it read. */
async function redisXread(c: Extract<Command, { op: 'redisXread' }>): Promise<Reply> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ port: c.port, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
  try {
    await client.xgroup('CREATE', c.stream, 'g', '$', 'MKSTREAM');
    reply({ id: c.id, ready: true });
    const samples: number[] = [];
    let got = 0;
    const start = nowMs();
    const deadline = start + c.timeoutMs;
    while (got < c.count) {
      if (nowMs() > deadline) return { id: c.id, error: `timed out with ${got} of ${c.count}`, count: got };
      const res = (await client.xreadgroupBuffer('GROUP', 'g', 'c', 'COUNT', 1000, 'BLOCK', 1000, 'STREAMS', c.stream, '>')) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      const entries = res?.[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      if (c.stamp) {
        const t = nowMs();
        for (const [, fields] of entries) {
          const data = fields[1]!;
          const s = stampOf(data, 0, data.length);
          if (!Number.isNaN(s)) samples.push(t - s);
        }
      }
      await client.xack(c.stream, 'g', ...entries.map(([entryId]) => entryId));
      got += entries.length;
    }
    return { id: c.id, start, end: nowMs(), count: got, ...(c.stamp ? { latency: percentiles(samples) } : {}) };
  } finally {
    client.disconnect();
  }
}

async function run(c: Command): Promise<Reply> {
  switch (c.op) {
    case 'write': return write(c);
    case 'read': return read(c);
    case 'natsPub': return natsPub(c);
    case 'natsSub': return natsSub(c);
    case 'redisPub': return redisPub(c);
    case 'redisSub': return redisSub(c);
    case 'redisXadd': return redisXadd(c);
    case 'redisXread': return redisXread(c);
    case 'exit':
      for (const r of readers.values()) r.socket.destroy();
      process.exit(0);
  }
}

if (process.argv[1]?.endsWith('worker.js')) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (text) => {
    const c = JSON.parse(text) as Command;
    run(c).then(reply, (error: unknown) => reply({ id: c.id, error: (error as Error).message ?? String(error) }));
  });
  rl.on('close', () => process.exit(0));
}
