import { isUtf8 } from 'node:buffer';
import { InvalidMessageError } from './errors.js';
import { newId } from './ids.js';
import { MAX_JSON_DEPTH, jsonDepth, topLevelValues } from './json-scan.js';
import { DEFAULT_SENDER, isValidAddress, isValidName, show } from './names.js';

/** One message on the bus: one JSON object on one line of the journal. */
export interface Envelope {
  /** Unique, sortable by time; a re-delivery carries the same id. */
  id: string;
  /** When the message was stamped, ISO 8601. */
  ts: string;
  from: string;
  /** An agent name, `orchestrator`, `*`, `role:R`, `group:G` or `leader:G`. */
  to: string;
  /** `message` unless the writer says otherwise; `text` for plain text lines. */
  type: string;
  body: unknown;
  thread?: string;
  reply_to?: string;
  /** Set by the router when `to` is `role:R`: the agent it chose. Writers may not set it. */
  rcpt?: string;
}

export const ENVELOPE_FIELDS = ['id', 'ts', 'from', 'to', 'type', 'body', 'thread', 'reply_to'] as const;
const FIELD_SET = new Set<string>(ENVELOPE_FIELDS);

/** 1 MiB: a longer line is dead-lettered and the stream resynchronises at the next newline. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
/** Writes up to PIPE_BUF bytes into a FIFO are atomic; longer ones can interleave with other writers'. */
export const PIPE_BUF = 4096;

const TYPE_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,63}$/i;
const TOKEN_PATTERN = /^[\x21-\x7e]{1,128}$/;
// Date.parse alone takes `1`, `2024` or `March 7, 2024`: times that do not sort as text (tail, --since).
const ISO_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * What the pipe a line arrived on says about it. A pair pipe names both ends
 * (and its name wins over the line); orchestrator.pipe and broadcast.pipe fix `to`.
 */
export interface Origin {
  /** Pipe file name, for error messages and the dead-letter log. */
  pipe: string;
  from?: string;
  to?: string;
}

export type Normalized = {
  envelope: Envelope;
  /** The journal line (no newline): the writer's own bytes when they were already a complete envelope. */
  line: string;
  /** Set when the pipe's name overrode what the line said (a forged `from`). */
  warning?: string;
};

/** Thrown-free classification of one raw line. */
export type Parsed =
  | { kind: 'blank' }
  | { kind: 'object'; value: Record<string, unknown>; raw: string }
  | { kind: 'text'; text: string };

const invalid = (reason: string, message: string): InvalidMessageError => new InvalidMessageError(reason, message);

/**
 * Classifies a raw line (without its newline): blank, a JSON object (first
 * non-blank character `{`), or plain text. Throws InvalidMessageError for
 * binary data, NUL bytes, bad UTF-8 and bad JSON.
 */
export function parseLine(bytes: Buffer): Parsed {
  if (bytes.includes(0)) throw invalid('nul_byte', 'Line contains a NUL byte');
  if (!isUtf8(bytes)) throw invalid('binary', 'Line is not valid UTF-8 text (binary data?)');
  let text = bytes.toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'blank' };
  if (trimmed[0] === '{') {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw invalid('invalid_json', `Invalid JSON: ${(error as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw invalid('invalid_json', 'Expected a JSON object');
    }
    if (jsonDepth(trimmed) > MAX_JSON_DEPTH) throw invalid('too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    return { kind: 'object', value: value as Record<string, unknown>, raw: trimmed };
  }
  // Control characters other than tab in a text line mean binary data or a
  // terminal escape sequence, neither of which a person meant to send.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) throw invalid('binary', 'Text line contains control characters (binary data?)');
  return { kind: 'text', text };
}

/**
 * Turns a parsed line into a stamped envelope: fills in `id`, `ts`, `type`,
 * and `from` / `to` from the pipe where the pipe knows them, and validates
 * every field. Throws InvalidMessageError with a reason for the dead-letter log.
 */
export function normalize(
  parsed: Exclude<Parsed, { kind: 'blank' }>,
  origin: Origin,
  now = Date.now(),
  makeId: (now: number) => string = newId,
): Normalized {
  if (parsed.kind === 'text') {
    const envelope = stamp({ type: 'text', body: parsed.text }, origin, now, makeId);
    return { envelope, line: serialize(envelope) };
  }
  const value = parsed.value;
  let hasEnvelopeField = false;
  for (const key of Object.keys(value)) {
    if (FIELD_SET.has(key)) hasEnvelopeField = true;
  }
  // An object with none of the envelope's fields is a body, as a script would mean it.
  if (!hasEnvelopeField) {
    const envelope = stamp({ body: value }, origin, now, makeId);
    // The writer's text is the body as it is: wrapped, not re-serialised.
    return { envelope, line: serialize(envelope, parsed.raw) };
  }
  for (const key of Object.keys(value)) {
    if (!FIELD_SET.has(key)) {
      throw invalid('unknown_field', `Unknown envelope field ${show(key)} (expected ${ENVELOPE_FIELDS.join(', ')})`);
    }
  }
  let warning: string | undefined;
  if (origin.from !== undefined && value.from !== undefined && value.from !== origin.from) {
    warning = `forged from ${show(value.from)} on ${origin.pipe}: the pipe's name wins, from is ${show(origin.from)}`;
  }
  const envelope = stamp(value, origin, now, makeId);
  // Complete means the stamp changed nothing: a `null` field was filled in (the journal
  // line must not keep `"id":null`), and a pipe's `to` may have overridden the line's.
  const complete =
    warning === undefined &&
    value.id === envelope.id && value.ts === envelope.ts && value.from === envelope.from &&
    value.to === envelope.to && value.type === envelope.type && 'body' in value &&
    (value.thread === undefined || value.thread === envelope.thread) &&
    (value.reply_to === undefined || value.reply_to === envelope.reply_to);
  // A complete envelope is journaled as the writer wrote it: no re-serialising on the hot path.
  if (complete) return { envelope, line: parsed.raw };
  // Otherwise the body still goes in as its writer wrote it, never parsed and re-serialised.
  const rawBody = 'body' in value && value.body !== null ? rawBodyOf(parsed.raw, value) : undefined;
  return { envelope, line: serialize(envelope, rawBody), ...(warning ? { warning } : {}) };
}

/**
 * The writer's text of a body, for a line that `stamp` accepted. Without a
 * backslash anywhere (no escapes: every key is written as it reads) the first
 * `"body":` is the top-level key — the fields before it are validated
 * strings, which cannot hold it unescaped — so when `body` is the last key
 * and there is no second one, its text runs to the closing brace. Anything
 * else (escapes, another key after it, spacing around the colon) is scanned.
 */
function rawBodyOf(raw: string, value: Record<string, unknown>): string | undefined {
  const at = raw.indexOf('"body":');
  if (at > 0 && raw.indexOf('\\') < 0 && raw.indexOf('"body":', at + 7) < 0) {
    let last: string | undefined;
    for (const key in value) last = key;
    if (last === 'body') return raw.slice(at + 7, raw.lastIndexOf('}')).trim();
  }
  return topLevelValues(raw).get('body');
}

function stamp(value: Record<string, unknown>, origin: Origin, now: number, makeId: (now: number) => string = newId): Envelope {
  const from = origin.from ?? value.from ?? DEFAULT_SENDER;
  if (!validFrom(from)) throw invalid('invalid_from', `Invalid from: expected an agent name, got ${show(from)}`);
  // A pipe that names its receiver (pair, orchestrator, broadcast) decides `to`.
  const to = origin.to ?? value.to;
  if (to === undefined) throw invalid('missing_to', 'Missing `to`: say who the message is for');
  if (!validTo(to)) {
    throw invalid('invalid_to', `Invalid to: expected an agent name, orchestrator, *, role:R, group:G or leader:G, got ${show(to)}`);
  }
  // What the writer gave is checked; what is made here is right by construction.
  let id = value.id;
  if (id === undefined || id === null) id = makeId(now);
  else if (typeof id !== 'string' || !TOKEN_PATTERN.test(id)) throw invalid('invalid_id', `Invalid id ${show(id)}: expected 1-128 printable ASCII characters`);
  let ts = value.ts;
  if (ts === undefined || ts === null) ts = isoTime(now);
  else if (typeof ts !== 'string' || !ISO_TIME_PATTERN.test(ts) || Number.isNaN(Date.parse(ts))) throw invalid('invalid_ts', `Invalid ts ${show(ts)}: expected an ISO 8601 time`);
  let type = value.type;
  if (type === undefined || type === null) type = 'message';
  else if (typeof type !== 'string' || !TYPE_PATTERN.test(type)) throw invalid('invalid_type', `Invalid type ${show(type)}: expected a word like message, task or event`);
  const envelope: Envelope = { id: id as string, ts: ts as string, from, to, type: type as string, body: value.body ?? null };
  if (value.thread !== undefined || value.reply_to !== undefined) {
    for (const key of ['thread', 'reply_to'] as const) {
      const v = value[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string' || !TOKEN_PATTERN.test(v)) throw invalid(`invalid_${key}`, `Invalid ${key} ${show(v)}: expected 1-128 printable ASCII characters`);
      envelope[key] = v;
    }
  }
  return envelope;
}

// The same few senders and addresses come again and again: remember which are valid.
const validNames = new Map<unknown, boolean>();
const validAddresses = new Map<unknown, boolean>();

function validFrom(from: unknown): from is string {
  let ok = validNames.get(from);
  if (ok === undefined) {
    ok = isValidName(from);
    if (typeof from === 'string' && validNames.size < 10_000) validNames.set(from, ok);
  }
  return ok;
}

function validTo(to: unknown): to is string {
  let ok = validAddresses.get(to);
  if (ok === undefined) {
    ok = isValidAddress(to);
    if (typeof to === 'string' && validAddresses.size < 10_000) validAddresses.set(to, ok);
  }
  return ok;
}

let isoMs = -1;
let isoText = '';

/** `new Date(ms).toISOString()`, made once per millisecond. */
function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

const rawBodies = new WeakMap<Envelope, string>();

/**
 * Remembers the writer's own text of an envelope's body (valid JSON), so
 * `serialize` journals exactly that: `1e999999` stays `1e999999` instead of
 * becoming `null`, a 33-digit integer keeps its digits. Kept beside the
 * object, not in it: the envelope stays a plain object.
 */
export function withRawBody<T extends Envelope>(envelope: T, text: string): T {
  rawBodies.set(envelope, text);
  return envelope;
}

/** The canonical line of an envelope (fields in a fixed order, no newline); the body as its writer wrote it (`rawBody`, or what withRawBody kept). */
export function serialize(envelope: Envelope, rawBody?: string): string {
  const raw = rawBody ?? rawBodies.get(envelope);
  const { id, ts, from, to, type } = envelope;
  // One look at the five together: names, addresses, types, times and ids made here need no escaping.
  const head = PLAIN_STRING.test(id + ts + from + to + type)
    ? `{"id":"${id}","ts":"${ts}","from":"${from}","to":"${to}","type":"${type}"`
    : `{"id":${JSON.stringify(id)},"ts":${JSON.stringify(ts)},"from":${JSON.stringify(from)},"to":${JSON.stringify(to)},"type":${JSON.stringify(type)}`;
  let line = `${head},"body":${raw ?? JSON.stringify(envelope.body ?? null) ?? 'null'}`;
  if (envelope.thread !== undefined) line += `,"thread":${JSON.stringify(envelope.thread)}`;
  if (envelope.reply_to !== undefined) line += `,"reply_to":${JSON.stringify(envelope.reply_to)}`;
  if (envelope.rcpt !== undefined) line += `,"rcpt":${JSON.stringify(envelope.rcpt)}`;
  return `${line}}`;
}

// Printable ASCII but `"` and `\`: what names, addresses, types, times and most ids are made of.
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A journal line with the router's role choice added (the line as written otherwise: `rcpt` is never a writer's field). */
export function withRcpt(line: string, rcpt: string): string {
  return `${line.slice(0, line.lastIndexOf('}'))},"rcpt":${JSON.stringify(rcpt)}}`;
}

/**
 * A body given as JSON text (`send --body-json`): parsed for the envelope,
 * kept as written for the journal. Throws InvalidMessageError.
 */
export function jsonBody(text: string): { value: unknown; raw: string } {
  const raw = text.trim();
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw invalid('invalid_json', `Invalid JSON: ${(error as Error).message}`);
  }
  if (jsonDepth(raw) > MAX_JSON_DEPTH) throw invalid('too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  return { value, raw };
}

/** Builds a complete envelope in the sending process (the CLI and the library), so the sender knows the id. */
export function createEnvelope(fields: {
  from: string; to: string; body: unknown; type?: string; thread?: string; reply_to?: string; id?: string; ts?: string;
}, now = Date.now()): Envelope {
  const value: Record<string, unknown> = { ...fields };
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return stamp(value, { pipe: 'send' }, now);
}

/** Parses one journal line back into an envelope (journal lines were validated when accepted). */
export function decodeJournalLine(line: string): Envelope {
  return JSON.parse(line) as Envelope;
}
