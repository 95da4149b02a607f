import fs from 'node:fs';
import type { Layout } from '../bus/layout.js';
import { unlessFsRace } from '../bus/errors.js';
import { normalizeForMatch, readReceipts, type Receipt } from './receipts.js';

/** A message typed into the pane, waiting for the agent's hook to report it. */
interface Expected {
  id: string;
  text: string;
  typedAt: number;
}

/** How often the receipts file is looked at while messages wait for theirs (a stat; it is read only when it grew). */
const POLL_MS = 250;
/** Codex reports a prompt only when its turn ends, which can be long after it was typed. */
const EXPECT_FOR_MS = 30 * 60_000;
/** Receipts kept for a message that is typed later than its receipt is read (the hook runs during the confirm window). */
const KEEP_RECEIPTS_MS = 60_000;
const MAX_EXPECTED = 256;

/**
 * Matches the prompts an agent's hooks report (state/receipts/<agent>.ndjson)
 * to the messages typed into its pane, and calls `onReceived` once per
 * message whose text the submitted prompt holds. A prompt that holds a text
 * twice (two messages merged into one turn) receipts two messages of that
 * text, never more. Agents without hooks simply never send receipts: their
 * messages stay `submitted`, and stop being waited for after EXPECT_FOR_MS.
 */
export class ReceiptMatcher {
  private readonly layout: Layout;
  private readonly agent: string;
  private readonly onReceived: (id: string, receipt: Receipt) => void;
  private expected: Expected[] = [];
  /** Receipts read but not (wholly) matched yet, with how many occurrences of each text are left to give. */
  private unmatched: Array<{ receipt: Receipt; prompt: string; readAt: number; used: Map<string, number> }> = [];
  /** The messages receipted lately (bounded), for `has`. */
  private readonly received = new Set<string>();
  private offset: number;
  private size: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(layout: Layout, agent: string, onReceived: (id: string, receipt: Receipt) => void) {
    this.layout = layout;
    this.agent = agent;
    this.onReceived = onReceived;
    // Receipts from before this router started belong to messages it never typed.
    this.size = this.offset = this.fileSize();
  }

  /** A message was just typed (`typedAt`: when its paste began): wait for its receipt. */
  expect(id: string, text: string, typedAt: number): void {
    const normalized = normalizeForMatch(text);
    // Typed again (its paste went nowhere): one receipt is still all it gets.
    if (normalized === '' || this.expected.some((e) => e.id === id)) return;
    this.expected.push({ id, text: normalized, typedAt });
    if (this.expected.length > MAX_EXPECTED) this.expected.shift();
    this.check();
    if (this.expected.length > 0 && !this.timer) {
      this.timer = setInterval(() => this.check(), POLL_MS);
      this.timer.unref();
    }
  }

  /** Whether the message's receipt came (reads what the hooks wrote since the last look first). */
  has(id: string): boolean {
    if (!this.received.has(id)) this.check();
    return this.received.has(id);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private fileSize(): number {
    return unlessFsRace(() => fs.statSync(this.layout.receiptsFile(this.agent)).size, 0, ['ENOENT']);
  }

  /** Reads new receipts (if the file grew) and gives out every match. */
  private check(): void {
    const now = Date.now();
    const size = this.fileSize();
    if (size !== this.size) {
      this.size = size;
      const { receipts, end } = readReceipts(this.layout, this.agent, this.offset);
      this.offset = end;
      for (const receipt of receipts) this.unmatched.push({ receipt, prompt: normalizeForMatch(receipt.prompt), readAt: now, used: new Map() });
    }
    for (const held of this.unmatched) {
      this.expected = this.expected.filter((e) => {
        // A receipt from before the message was typed is another message's (the same text sent earlier).
        if (Date.parse(held.receipt.at) < e.typedAt - 1000) return true;
        const used = held.used.get(e.text) ?? 0;
        if (used >= occurrences(held.prompt, e.text)) return true;
        held.used.set(e.text, used + 1);
        this.received.add(e.id);
        if (this.received.size > MAX_EXPECTED) this.received.delete(this.received.values().next().value!);
        this.onReceived(e.id, held.receipt);
        return false;
      });
    }
    this.unmatched = this.unmatched.filter((h) => now - h.readAt < KEEP_RECEIPTS_MS);
    this.expected = this.expected.filter((e) => now - e.typedAt < EXPECT_FOR_MS);
    if (this.expected.length === 0) this.close();
  }
}

/** How many times `text` occurs in `prompt`, not overlapping. */
function occurrences(prompt: string, text: string): number {
  let count = 0;
  for (let at = prompt.indexOf(text); at !== -1; at = prompt.indexOf(text, at + text.length)) count++;
  return count;
}
