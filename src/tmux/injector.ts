import { setTimeout as sleep } from 'node:timers/promises';
import { TmuxError } from '../bus/errors.js';
import type { TmuxClient } from './client.js';
import { captureRows, captureScreen, readPaneInfo, type PaneInfo } from './pane-info.js';
import { ownerProblem, type PaneOwner } from './pane-owner.js';

export interface InjectorOptions {
  client: TmuxClient;
  /** A pane id (`%12`). */
  paneId: string;
  /** Key name sent after the paste (`Enter`, `C-m`); never message text. */
  submitKey?: string | undefined;
  /** Milliseconds between the end of the paste and the submit key. */
  submitDelayMs?: number | undefined;
  /** How long to wait for a submit to show before pressing the key again. */
  verifyWindowMs?: number | undefined;
  /** How many extra presses before giving up (the delivery is then unconfirmed). */
  maxResubmits?: number | undefined;
  /**
   * Whose pane this must be: nothing is typed into it (no paste, no key, not
   * even leaving copy-mode) unless it carries the agent's tag on the server
   * instance it was registered on (pane-owner.ts).
   */
  owner?: PaneOwner | undefined;
  /** The key pressed again when a submission does not show (default: the submit key). */
  rescueKey?: string | undefined;
  /**
   * How a submission shows on this program's screen (an agent profile knows:
   * the input box empty and the text in the transcript). `before` and `after`
   * are whole screens. Default: the text left the cursor line.
   */
  confirm?: ((before: string, after: string, text: string) => boolean) | undefined;
  /**
   * Whether, after the presses ran out, the program looks like it is still
   * taking the message (the input box left empty, the screen changing): then
   * the injector watches `settleMs` longer, pressing nothing, before it says
   * unconfirmed. `pasted` is the screen right after the paste.
   */
  settling?: ((pasted: string, now: string) => boolean) | undefined;
  settleMs?: number | undefined;
}

/** Defaults that work for a readline program; real agents set their own (Claude Code needs 300+ ms). */
export const DEFAULT_SUBMIT_KEY = 'Enter';
export const DEFAULT_SUBMIT_DELAY_MS = 40;
export const DEFAULT_MAX_RESUBMITS = 2;
/** Key names the submit key may be: named keys and modifiers, no free text. */
export const SUBMIT_KEY_PATTERN = /^(?:[CMS]-)*(?:Enter|KPEnter|Tab|Escape|Space|BSpace|[A-Za-z0-9])$/;

export type InjectResult =
  /** Pasted, submitted, and the text left the input line. `pastedAt`: when the paste went in (ms since the epoch). */
  | { status: 'confirmed'; presses: number; pastedAt: number }
  /** Pasted and submitted, but no sign of a submission after every press. `screen`: the whole screen last seen ('' without a profile's check). */
  | { status: 'unconfirmed'; presses: number; pastedAt: number; screen: string }
  /** Not delivered (pane missing, dead, not the owner's, a tmux error); safe to try again later. `refused`: not the owner's pane. */
  | { status: 'failed'; reason: string; refused?: true };

/** Why a pane cannot be typed into now; `refused` when it is not the owner's pane. */
export interface NotReady {
  reason: string;
  refused?: true;
}

let bufferSeq = 0;

/**
 * Types one rendered message into one pane: a named buffer loaded from the
 * text (never send-keys with text, where `C-c` would be a key), pasted with
 * `paste-buffer -d -p -r` (bracketed when the app asked for it; `-r` keeps LF
 * as LF instead of tmux's CR, so a `keep` rendering stays inside the paste),
 * then after the submit delay the submit key by name, then verification: the
 * screen must change and the text must leave the cursor line, else the key is
 * pressed again, a bounded number of times.
 *
 * Callers serialise calls per pane (the router never has two deliveries to
 * one sink outstanding); different panes run in parallel.
 */
export class PaneInjector {
  readonly paneId: string;
  private readonly client: TmuxClient;
  private readonly submitKey: string;
  private readonly submitDelayMs: number;
  private readonly verifyWindowMs: number;
  private readonly maxResubmits: number;
  private readonly owner: PaneOwner | undefined;
  private readonly rescueKey: string;
  private readonly confirm: InjectorOptions['confirm'];
  private readonly settling: InjectorOptions['settling'];
  private readonly settleMs: number;

  constructor(options: InjectorOptions) {
    this.client = options.client;
    this.paneId = options.paneId;
    this.submitKey = options.submitKey ?? DEFAULT_SUBMIT_KEY;
    if (!SUBMIT_KEY_PATTERN.test(this.submitKey)) throw new TmuxError(`Expected a submit key name like Enter or C-m, got \`${this.submitKey}\``);
    this.submitDelayMs = options.submitDelayMs ?? DEFAULT_SUBMIT_DELAY_MS;
    this.verifyWindowMs = options.verifyWindowMs ?? Math.max(400, this.submitDelayMs * 2);
    this.maxResubmits = options.maxResubmits ?? DEFAULT_MAX_RESUBMITS;
    this.owner = options.owner;
    this.rescueKey = options.rescueKey ?? this.submitKey;
    if (!SUBMIT_KEY_PATTERN.test(this.rescueKey)) throw new TmuxError(`Expected a rescue key name like Enter or C-m, got \`${this.rescueKey}\``);
    this.confirm = options.confirm;
    this.settling = options.settling;
    this.settleMs = options.settleMs ?? 10_000;
  }

  /** Checks the pane and takes it out of copy-mode; a reason when it cannot be typed into. */
  async prepare(): Promise<{ info: PaneInfo } | NotReady> {
    const info = await readPaneInfo(this.client, this.paneId);
    if (!info) return { reason: 'pane dead/missing' };
    if (info.dead) return { reason: 'pane dead/missing' };
    const problem = this.owner ? ownerProblem(info, this.owner) : undefined;
    if (problem) return { reason: problem, refused: true };
    if (info.inMode) {
      // A pane in copy-mode swallows keys: leave the mode first.
      await this.client.tryCommand(['send-keys', '-X', '-t', this.paneId, 'cancel']);
      const after = await readPaneInfo(this.client, this.paneId);
      if (!after || after.dead) return { reason: 'pane dead/missing' };
      if (after.inMode) return { reason: 'pane is in a mode (copy-mode) that would not leave' };
      return { info: after };
    }
    return { info };
  }

  /** Pastes and submits `text` (already rendered and sanitised). */
  async inject(text: string): Promise<InjectResult> {
    const ready = await this.prepare();
    if ('reason' in ready) return { status: 'failed', ...ready };
    const buffer = `bmad-bus-${process.pid}-${++bufferSeq}`;
    const pastedAt = Date.now();
    try {
      await this.client.setBuffer(buffer, text);
      // The server checks again in the same command as the paste: the pane may have died or changed hands since prepare().
      if (!(await this.client.pasteBuffer(buffer, this.paneId, this.owner))) return this.refusedNow();
    } catch (error) {
      await this.client.tryCommand(['delete-buffer', '-b', buffer]);
      return { status: 'failed', reason: `paste failed: ${(error as Error).message}` };
    }
    if (this.submitDelayMs > 0) await sleep(this.submitDelayMs);
    let before = await this.snapshot();
    if (!before) return { status: 'failed', reason: 'pane dead/missing' };
    const pasted = before;
    const tail = tailOf(text);
    for (let presses = 1; ; presses++) {
      try {
        if (!(await this.client.sendKey(this.paneId, presses === 1 ? this.submitKey : this.rescueKey, this.owner))) return this.refusedNow();
      } catch (error) {
        return { status: 'failed', reason: `submit failed: ${(error as Error).message}` };
      }
      const outcome = await this.waitForSubmit(before, tail, (now) => this.confirm!(pasted.full, now.full, text));
      if (outcome === 'gone') return { status: 'failed', reason: 'pane dead/missing' };
      if (outcome === 'submitted') return { status: 'confirmed', presses, pastedAt };
      if (presses > this.maxResubmits) {
        if (!this.confirm || !this.settling?.(pasted.full, outcome.full)) return { status: 'unconfirmed', presses, pastedAt, screen: outcome.full };
        // The box emptied and the screen is busy redrawing (opencode's first turn moves to its session view): watch, press nothing.
        const late = await this.waitForSubmit(outcome, tail, (now) => this.confirm!(pasted.full, now.full, text), this.settleMs);
        if (late === 'gone') return { status: 'failed', reason: 'pane dead/missing' };
        if (late === 'submitted') return { status: 'confirmed', presses, pastedAt };
        return { status: 'unconfirmed', presses, pastedAt, screen: late.full };
      }
      before = outcome;
    }
  }

  /** A guarded paste or key was refused by the server: say why, as prepare() would. */
  private async refusedNow(): Promise<InjectResult> {
    const again = await this.prepare();
    if ('reason' in again) return { status: 'failed', ...again };
    return { status: 'failed', reason: 'pane dead/missing' };
  }

  /** Polls the screen until the submit shows; returns the last snapshot when it did not within the window. */
  private async waitForSubmit(before: Snapshot, tail: string, confirmed: (now: Snapshot) => boolean, windowMs = this.verifyWindowMs): Promise<'submitted' | 'gone' | Snapshot> {
    const deadline = Date.now() + windowMs;
    // Most programs show a submit within a millisecond or two: look early, then back off.
    let pause = 0;
    for (;;) {
      if (pause > 0) await sleep(pause);
      pause = Math.min(Math.max(1, pause * 1.5), 50);
      const now = await this.snapshot();
      if (!now) return 'gone';
      if (this.confirm) {
        if (confirmed(now)) return 'submitted';
      } else {
        const changed = now.screen !== before.screen || now.cursor !== before.cursor;
        if (changed && !textAtCursor(now, tail)) return 'submitted';
      }
      if (Date.now() >= deadline) return now;
    }
  }

  private async snapshot(): Promise<Snapshot | undefined> {
    const info = await readPaneInfo(this.client, this.paneId);
    if (!info || info.dead) return undefined;
    // A profile's check reads the whole screen (its input box may sit below the cursor); the default, the rows to the cursor.
    const full = this.confirm ? await captureScreen(this.client, this.paneId) : undefined;
    if (this.confirm && full === undefined) return undefined;
    const rows = full !== undefined ? full.split('\n').slice(0, info.cursorY + 1) : await captureRows(this.client, this.paneId, 0, info.cursorY);
    if (!rows) return undefined;
    return { screen: rows.join('\n'), full: full ?? '', cursor: `${info.cursorX},${info.cursorY}`, rows, cursorX: info.cursorX, cursorY: info.cursorY };
  }
}

interface Snapshot {
  screen: string;
  /** The whole visible screen (only read when a profile confirms). */
  full: string;
  cursor: string;
  rows: string[];
  cursorX: number;
  cursorY: number;
}

/** The end of the text's last line: what sits left of the cursor while the text is unsubmitted. */
function tailOf(text: string): string {
  const last = text.split('\n').pop() ?? '';
  return last.trimEnd().slice(-24);
}

/** The text left of the cursor (joined with the row above, for a wrapped line) still ends with the tail. */
function textAtCursor(snapshot: Snapshot, tail: string): boolean {
  if (tail === '') return false;
  const row = snapshot.rows[snapshot.cursorY] ?? '';
  const head = [...row].slice(0, snapshot.cursorX).join('');
  if (head.trim() === '') return false;
  const above = snapshot.cursorY > 0 ? (snapshot.rows[snapshot.cursorY - 1] ?? '') : '';
  return `${above}${head}`.trimEnd().endsWith(tail);
}
