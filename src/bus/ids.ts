import { randomBytes } from 'node:crypto';

// Crockford's base32: sorts the same as text and as numbers.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encode(value: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}

// 40 random bits fixed per process keep ids from different processes apart;
// a 40-bit counter keeps ids of one process unique and increasing.
const processPart = (() => {
  const bytes = randomBytes(5);
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return encode(n, 8);
})();
let counter = Math.floor(Math.random() * 2 ** 30);
let lastMs = -1;
let timePart = '';

/**
 * A message id: 26 characters, ULID-shaped (10 of time in ms, 16 unique),
 * unique across processes and sortable by the time it was made.
 */
export function newId(now = Date.now()): string {
  if (now !== lastMs) {
    lastMs = now;
    timePart = encode(now, 10);
  }
  counter = (counter + 1) % 2 ** 40;
  return timePart + processPart + encode(counter, 8);
}

/**
 * An id fixed by where a line was read, not by when it is stamped: the
 * router's intake replay after a crash stamps a line again and must get the
 * same id, so the copy already journaled is recognised.
 */
export function derivedId(ms: number, source: number, sequence: number): string {
  return encode(ms, 10) + encode(source % 2 ** 40, 8) + encode(sequence % 2 ** 40, 8);
}

/** The time (ms since the epoch) an id was made, or undefined for ids not made by `newId`. */
export function idTime(id: string): number | undefined {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return undefined;
  let n = 0;
  for (const ch of id.slice(0, 10)) n = n * 32 + ALPHABET.indexOf(ch);
  return n;
}
