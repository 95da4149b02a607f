import fs from 'node:fs';
import path from 'node:path';
import type { RoleTurns } from '../bus/role-turns.js';
import { AddressBook } from '../bus/address-book.js';
import { BusError, errnoCode } from '../bus/errors.js';
import { PIPE_BUF, createEnvelope, jsonBody, serialize, withRawBody, type Envelope } from '../bus/envelope.js';
import { checkEntry, writeFileAtomic } from '../bus/fs-safety.js';
import { newId } from '../bus/ids.js';
import type { Layout } from '../bus/layout.js';
import { defaultSender } from '../bus/names.js';
import { readRegistry } from '../bus/registry.js';

export interface OutgoingMessage {
  to: string;
  body: unknown;
  /** The body as JSON text, journaled exactly as written (`body` is then ignored). */
  bodyJson?: string;
  from?: string;
  type?: string;
  thread?: string;
  reply_to?: string;
}

export interface SendOptions {
  /** How long to wait when the bus pipe is full (the router is behind or restarting). Default 30 s. */
  fullPipeTimeoutMs?: number;
}

/** The field a spool reference line carries: `{"$spool":"<file>"}`. */
export const SPOOL_FIELD = '$spool';

/**
 * Sends messages: stamps them here (so the caller learns each id), writes them
 * into `bus.pipe` when a router (or its keeper) holds it, else appends them to
 * the journal directly under the writer lock — accepted either way.
 * Every write into the pipe is at most PIPE_BUF bytes, so it is atomic and
 * never interleaves with other writers; a longer message goes through a spool
 * file (written atomically) and the pipe carries a short reference to it.
 */
export async function send(layout: Layout, messages: OutgoingMessage | OutgoingMessage[], options: SendOptions = {}): Promise<Envelope[]> {
  const list = Array.isArray(messages) ? messages : [messages];
  const now = Date.now();
  const envelopes = list.map(({ bodyJson, ...m }) => {
    const body = bodyJson === undefined ? undefined : jsonBody(bodyJson);
    const envelope = createEnvelope({ ...m, ...(body ? { body: body.value } : {}), from: m.from ?? defaultSender() }, now);
    return body ? withRawBody(envelope, body.raw) : envelope;
  });
  await sendEnvelopes(layout, envelopes, options);
  return envelopes;
}

export async function sendEnvelopes(layout: Layout, envelopes: Envelope[], options: SendOptions = {}): Promise<void> {
  const lines = envelopes.map((e) => `${serialize(e)}\n`);
  let resent = false;
  for (;;) {
    const fd = openPipe(layout.busPipe);
    if (fd !== undefined) {
      try {
        await writeToPipe(layout, fd, lines, options.fullPipeTimeoutMs ?? 30_000);
        return;
      } catch (error) {
        if (errnoCode(error) !== 'EPIPE') throw error;
        // The reader (the keeper) died while we wrote: what we wrote may have died with it.
        // Send it all again; the ids make a repeat harmless (the router journals an id once).
        resent = true;
      } finally {
        fs.closeSync(fd);
      }
      continue;
    }
    // Nobody holds the pipe: no router and no keeper. Append to the journal ourselves.
    if (await appendDirectly(layout, envelopes, resent)) return;
    await sleep(50); // a router is starting: it will hold the pipe in a moment
  }
}

function openPipe(file: string): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (error) {
    if (errnoCode(error) === 'ENXIO') return undefined; // no reader
    if (errnoCode(error) === 'ENOENT') throw new BusError(`${file} is missing (run \`bmad-bus init\`)`, { cause: error });
    checkEntry(file, 'fifo'); // a symlink (ELOOP) gets its clear error
    throw error;
  }
  try {
    // A regular file opens fine and swallows the message: only a FIFO of ours will do.
    checkEntry(file, 'fifo', fs.fstatSync(fd));
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}

async function writeToPipe(layout: Layout, fd: number, lines: string[], timeoutMs: number): Promise<void> {
  const chunks = packChunks(layout, lines);
  const deadline = Date.now() + timeoutMs;
  for (const chunk of chunks) {
    for (;;) {
      try {
        // ≤ PIPE_BUF bytes: all or nothing, never interleaved with another writer.
        fs.writeSync(fd, chunk);
        break;
      } catch (error) {
        if (errnoCode(error) !== 'EAGAIN') throw error;
        if (Date.now() > deadline) {
          throw new BusError(`The bus pipe stayed full for ${Math.round(timeoutMs / 1000)}s: is the router stuck? (see \`bmad-bus status\`)`);
        }
        await sleep(2);
      }
    }
  }
}

/** Groups lines into writes of at most PIPE_BUF bytes; a longer line becomes a spool reference. */
function packChunks(layout: Layout, lines: string[]): Buffer[] {
  const chunks: Buffer[] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const line of lines) {
    let bytes = Buffer.from(line, 'utf8');
    if (bytes.length > PIPE_BUF) bytes = Buffer.from(`${JSON.stringify({ [SPOOL_FIELD]: spool(layout, bytes) })}\n`);
    if (size + bytes.length > PIPE_BUF) {
      chunks.push(Buffer.concat(current, size));
      current = [];
      size = 0;
    }
    current.push(bytes);
    size += bytes.length;
  }
  if (size > 0) chunks.push(Buffer.concat(current, size));
  return chunks;
}

function spool(layout: Layout, line: Buffer): string {
  const name = `${newId()}.json`;
  writeFileAtomic(path.join(layout.spoolDir, name), line);
  return name;
}

async function appendDirectly(layout: Layout, envelopes: Envelope[], skipJournaled: boolean): Promise<boolean> {
  // Loaded only here: the common path (a router holds the pipe) stays lean at start-up.
  const [{ acquireWriterLock }, { JournalWriter }] = await Promise.all([import('../journal/writer-lock.js'), import('../journal/writer.js')]);
  let lock;
  try {
    lock = await acquireWriterLock(layout);
  } catch (error) {
    if ((error as Error).name === 'RouterAlreadyRunningError') return false;
    throw error;
  }
  try {
    // A keeper that died left reads in the intake that no router journaled yet: journaling
    // these now would put them before those. They go behind them, into the intake; the next
    // router journals both, in order (what `send` always promised: in order per sender).
    if (await intakeHasUnconsumed(layout)) {
      const { IntakeWriter } = await import('../router/intake-writer.js');
      const intake = new IntakeWriter(layout.journalDir);
      try {
        intake.append('bus.pipe', Date.now(), Buffer.from(envelopes.map((e) => `${serialize(e)}\n`).join('')));
        intake.sync();
      } finally {
        intake.close();
      }
      return true;
    }
    // The router picks the agent of a `role:` address when it accepts a message; here
    // the sender accepts it, so it picks (same rule), or no consumer would ever take it.
    // The position of the round robin is the router's too: both choose holding the writer lock.
    const book = new AddressBook(readRegistry(layout));
    let turns: RoleTurns | undefined;
    for (const envelope of envelopes) {
      if (envelope.rcpt !== undefined || !envelope.to.startsWith('role:')) continue;
      turns ??= (await import('../bus/role-turns.js')).RoleTurns.load(layout);
      const chosen = book.chooseForRole(envelope.to.slice('role:'.length), turns);
      if (chosen) envelope.rcpt = chosen;
    }
    const writer = new JournalWriter(layout.journalDir);
    try {
      // After a resend, some may be in the journal already (the keeper took them before it died).
      let fresh = envelopes;
      if (skipJournaled) {
        const { IdWindow } = await import('../journal/id-window.js');
        const window = IdWindow.load(layout.journalDir, writer.end);
        fresh = envelopes.filter((e) => !window.has(e.id));
      }
      if (fresh.length === 0) return true;
      writer.append(fresh.map((e) => `${serialize(e)}\n`).join(''));
      writer.syncNow();
    } finally {
      writer.close();
    }
    return true;
  } finally {
    await lock.release();
  }
}

/** Whether the intake holds reads after its mark: what a dead keeper took and no router journaled yet. */
async function intakeHasUnconsumed(layout: Layout): Promise<boolean> {
  const [{ HEADER_BYTES, listIntakeSegments }, { readIntakeMark }, { IntakeReader }] = await Promise.all([
    import('../router/intake-format.js'), import('../router/intake-mark.js'), import('../router/intake-reader.js'),
  ]);
  const first = listIntakeSegments(layout.journalDir)[0];
  if (first === undefined) return false;
  const reader = new IntakeReader(layout.journalDir, readIntakeMark(layout.intakeMarkFile)?.at ?? { seq: first, offset: HEADER_BYTES });
  try {
    for (const _record of reader.read()) return true;
    return false;
  } finally {
    reader.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
