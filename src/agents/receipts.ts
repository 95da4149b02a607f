import fs from 'node:fs';
import type { Layout } from '../bus/layout.js';
import { unlessFsRace } from '../bus/errors.js';
import { ensurePrivateDir } from '../bus/fs-safety.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';

/** One prompt an agent's CLI reported as submitted, through its hook. */
export interface Receipt {
  /** ISO 8601: when the hook ran. */
  at: string;
  cli: string;
  /** The prompt as the CLI submitted it (the first RECEIPT_TEXT_LIMIT characters). */
  prompt: string;
}

/** Enough of a prompt to match any message bmad-bus types (a 3,000-character message fits many times over). */
const RECEIPT_TEXT_LIMIT = 64 * 1024;

/**
 * Appends a receipt to state/receipts/<agent>.ndjson: one line per write with
 * O_APPEND, so concurrent hooks never interleave inside a line.
 */
export function appendReceipt(layout: Layout, agent: string, receipt: Receipt): void {
  ensurePrivateDir(layout.receiptsDir);
  const line = `${JSON.stringify({ ...receipt, prompt: receipt.prompt.slice(0, RECEIPT_TEXT_LIMIT) })}\n`;
  const fd = fs.openSync(layout.receiptsFile(agent), fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, line);
  } finally {
    fs.closeSync(fd);
  }
}

/** Receipts written at or after byte `from` of the agent's file, and where the file ends (for the next read). */
export function readReceipts(layout: Layout, agent: string, from = 0): { receipts: Receipt[]; end: number } {
  const text = unlessFsRace(() => fs.readFileSync(layout.receiptsFile(agent)), undefined, ['ENOENT']);
  if (!text) return { receipts: [], end: 0 };
  // Only whole lines: a hook may be writing the last one right now.
  const end = text.lastIndexOf(0x0a) + 1;
  const start = from > end ? 0 : from; // the file was replaced: read it again
  const receipts = text.subarray(start, end).toString('utf8').split('\n').flatMap((line) => {
    const r = line ? parseJsonOrUndefined<Receipt>(line) : undefined;
    return r && typeof r.prompt === 'string' ? [r] : [];
  });
  return { receipts, end };
}

/** Text as a prompt is compared: whitespace runs are one space (CLIs re-wrap and trim what they were given). */
export function normalizeForMatch(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Whether a submitted prompt is the message typed: the same text, or a prompt
 * that holds it whole (a CLI may add context of its own around it).
 */
export function promptMatches(prompt: string, typed: string): boolean {
  const p = normalizeForMatch(prompt);
  const t = normalizeForMatch(typed);
  return t !== '' && (p === t || p.includes(t));
}
