import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { AddressBook } from '../bus/address-book.js';
import { createEnvelope, serialize, withRcpt, type Envelope, type Normalized, type Origin } from '../bus/envelope.js';
import { BusError, InvalidMessageError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { verifyRoot } from '../bus/root.js';
import { readStateFile } from '../bus/state-file.js';
import { readCursors } from '../journal/cursors.js';
import { recentDeadLetterIds, type DeadLetter } from '../journal/dead-letters.js';
import { journalLines } from '../journal/reader.js';
import { acquireWriterLock, type WriterLock } from '../journal/writer-lock.js';
import { JournalWriter } from '../journal/writer.js';
import { ConsumerSet } from './consumer-set.js';
import { CursorPersister } from './cursor-persister.js';
import { DeadLetterRecorder } from './dead-letter-recorder.js';
import { HoldQueue } from './hold-queue.js';
import { IntakeConsumer, type IntakeConsumerHost } from './intake-consumer.js';
import { IntakePump } from './intake-pump.js';
import { IntakeWriter } from './intake-writer.js';
import type { IntakePosition } from './intake-format.js';
import { IdWindow } from '../journal/id-window.js';
import { ingestLine, type Ingested } from './ingest.js';
import { RegistryWatch } from './registry-watch.js';
import { RootGuard } from './root-guard.js';
import { normalizeRouterOptions, type RouterOptions, type RouterOptionsInput } from './router-options.js';
import { StatusReporter, type StatusFacts } from './status-reporter.js';

/** A message accepted into the journal, with where it sits. */
interface Accepted {
  offset: number;
  end: number;
  line: string;
  envelope: Envelope;
  spoolFile?: string;
}

export interface RouterEvents {
  ready: [];
  accepted: [count: number];
  deadLetter: [record: DeadLetter];
  error: [error: Error];
  closed: [];
}

// Pause intake while this much is written but not yet durable (a slow disk).
const MAX_UNSYNCED_BYTES = 64 * 1024 * 1024;
// Parsed lines waiting for the end of the event-loop turn are journaled at once past this.
const MAX_BATCH_BYTES = 1024 * 1024;
// A batch the journal could not take is retried in pieces of this size.
const STALL_PIECE_BYTES = 64 * 1024;

/**
 * The one process per bus root that reads every pipe, stamps and journals
 * each line (group commit), and hands journaled messages to consumers.
 * Data flows one way: pipe → ingest → journal → dispatch → inbox / pane.
 *
 * @example
 * const router = new Router(layout, { durability: 'batch' });
 * await router.start();
 * // ...
 * await router.close();
 */
export class Router extends EventEmitter<RouterEvents> {
  readonly layout: Layout;
  readonly options: RouterOptions;
  private lock: WriterLock | undefined;
  private journal!: JournalWriter;
  private readonly deadLetters: DeadLetterRecorder;
  private readonly cursors: CursorPersister;
  private readonly status: StatusReporter;
  private root!: RootGuard;
  /** Reads the intake (written by the keeper, or by `pump` when running alone) into lines. */
  private intake!: IntakeConsumer;
  private intakeWriter: IntakeWriter | undefined;
  private pump: IntakePump | undefined;
  /** Batches the journal could not take (a full disk), in order; retried, and nothing more is consumed meanwhile. */
  private stalled: Array<{ lines: Normalized[]; spools: (string | undefined)[] }> = [];
  private stalledSince: Date | undefined;
  private consumeScheduled = false;
  /** Ids of the latest messages: a line with one of them is a duplicate (dead-lettered, not journaled). */
  private recentIds = new IdWindow();
  private readonly book = new AddressBook({ agents: {}, groups: {} });
  private readonly held: HoldQueue;
  private readonly consumers: ConsumerSet;
  private readonly registry: RegistryWatch;
  /** Written to the journal, waiting for fsync before dispatch. */
  private unsynced: Accepted[] = [];
  private unsyncedBytes = 0;
  private syncing = false;
  private dispatched = 0;
  private timers: NodeJS.Timeout[] = [];
  private closePromise: Promise<void> | undefined;
  private readonly started = new Date();
  private stats = { accepted: 0, delivered: 0, deadLettered: 0 };

  constructor(layout: Layout, options: RouterOptionsInput = {}) {
    super();
    this.layout = layout;
    this.options = normalizeRouterOptions(options);
    const log = (line: string): void => this.log(line);
    // A router that never started has no root of its own to write into.
    const mayWrite = (): boolean => this.root?.stillOurs() ?? false;
    this.deadLetters = new DeadLetterRecorder(layout.deadLetterFile, log);
    this.held = new HoldQueue({ holdMs: this.options.holdMs, deadLetterFile: layout.deadLetterFile });
    this.consumers = new ConsumerSet(layout, this.book, this.held, this.options.tmuxSocket, {
      journalEnd: () => this.journal.end,
      dispatchedEnd: () => this.dispatched,
      delivered: (count) => {
        this.stats.delivered += count;
        this.cursors.handedOver();
      },
      changed: () => this.cursors.changed(),
      rootStillOurs: mayWrite,
      publish: (message) => void this.publish(message),
      log,
    });
    this.registry = new RegistryWatch(layout, this.book, { reloaded: () => this.consumers.sync(readCursors(layout)), log });
    this.cursors = new CursorPersister(layout, { snapshot: () => this.consumers.cursors(), mayWrite, log });
    this.status = new StatusReporter(layout, { facts: (ready) => this.facts(ready), mayWrite, log });
  }

  /** Takes the lock, recovers the journal, opens every pipe and starts delivering. */
  async start(): Promise<void> {
    verifyRoot(this.layout);
    this.root = new RootGuard(this.layout, (error) => this.fail(error));
    if (!this.options.underKeeper) {
      this.lock = await acquireWriterLock(this.layout, {
        waitMs: 6_000,
        onCompromised: (error) => this.fail(new BusError(`Lost the router lock: ${error.message}`)),
      });
    }
    this.journal = new JournalWriter(this.layout.journalDir, {
      segmentBytes: this.options.segmentBytes,
      onRecovered: ({ file, droppedBytes }) => this.log(`journal: cut ${droppedBytes} torn byte(s) off the end of ${path.basename(file)}`),
    });
    this.book.update(readRegistry(this.layout));
    this.recentIds = IdWindow.load(this.layout.journalDir, this.journal.end);
    // Alone, the router reads the pipes itself; under a keeper, the keeper does and writes the intake.
    if (!this.options.underKeeper) this.intakeWriter = new IntakeWriter(this.layout.journalDir);
    this.intake = new IntakeConsumer(this.layout, this.intakeHost());
    const previousEnd = readStateFile<{ journal_end?: number }>(this.layout.routerStatusFile, {}).journal_end;
    this.replayIntake();
    this.dispatched = this.journal.end;
    this.held.holdUnknownSince(this.layout.journalDir, this.book, previousEnd, this.journal.end);
    this.consumers.sync(readCursors(this.layout));
    this.consumers.countBacklog(this.journal.end);
    await this.registry.start();
    if (this.intakeWriter) {
      this.pump = new IntakePump(this.layout, this.intakeWriter, { onAppend: () => this.consumeIntake(), log: (line) => this.log(line) });
      this.pump.start();
    } else {
      // The keeper says when it wrote (`intakeAppended`); a look at the files now and then covers a missed word.
      this.timers.push(setInterval(() => this.consumeIntake(true), 250));
    }
    this.status.start(this.options.statusIntervalMs);
    this.cursors.start(this.options.cursorIntervalMs);
    this.timers.push(setInterval(() => this.expireHeld(), 250));
    this.consumers.wakeAll();
    this.status.write(true);
    this.emit('ready');
  }

  /** Stops reading, makes everything durable, persists cursors, releases the lock. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  /** The keeper wrote more into the intake; `end` is where its writer stands now, when it says. */
  intakeAppended(end?: IntakePosition): void {
    if (end) this.announcedEnd = end;
    this.consumeIntake();
  }

  /** The intake writer's end as last announced by the keeper (undefined: look at the files). */
  private announcedEnd: IntakePosition | undefined;

  /** Accepts a message made inside the daemon (supervisor, pane sink events). */
  publish(message: { to: string; type: string; body: unknown; from?: string }): Envelope | undefined {
    if (this.closePromise) return undefined;
    const envelope = createEnvelope({ from: message.from ?? 'router', to: message.to, type: message.type, body: message.body });
    this.flushBatch(); // what was read before goes first
    this.recentIds.add(envelope.id, 0);
    this.appendAccepted([{ envelope, line: serialize(envelope) }], [undefined]);
    return envelope;
  }

  get counters(): Readonly<{ accepted: number; delivered: number; deadLettered: number }> {
    return this.stats;
  }

  // ---- intake ------------------------------------------------------------

  private intakeHost(): IntakeConsumerHost {
    return {
    maxLineBytes: this.options.maxLineBytes,
    ingest: (bytes, origin, ts, makeId) => this.ingest(bytes, origin, ts, makeId),
    accept: (result) => this.onAccepted(result),
    seen: (id) => this.recentIds.has(id),
    reject: (record) => this.deadLetter(record),
    journalEnd: () => this.journal.end,
    afterRecord: () => {
      if (this.batchBytes > MAX_BATCH_BYTES) this.flushBatch();
    },
    mustPause: () => this.mustPause(),
    };
  }

  private mustPause(): boolean {
    return this.stalled.length > 0 || this.unsyncedBytes > MAX_UNSYNCED_BYTES;
  }

  /** Reads what the intake has now into the journal, a bounded stretch per turn of the event loop. */
  private consumeIntake(scan = false): void {
    if (this.closePromise || this.consumeScheduled || this.mustPause()) return;
    const { more } = this.intake.consume(undefined, scan ? undefined : (this.intakeWriter?.end ?? this.announcedEnd));
    this.flushBatch();
    if (more && !this.mustPause()) {
      this.consumeScheduled = true;
      setImmediate(() => {
        this.consumeScheduled = false;
        this.consumeIntake();
      });
    }
  }

  /** Journals the lines parsed so far, then moves the intake's mark past their reads. */
  private flushBatch(): void {
    this.appendBatch();
    if (this.stalled.length === 0) this.intake.writeMark();
  }

  private appendBatch(): void {
    if (this.batchLines.length === 0) return;
    const lines = this.batchLines;
    const spools = this.batchSpools;
    this.batchLines = [];
    this.batchSpools = [];
    this.batchBytes = 0;
    this.appendAccepted(lines, spools);
  }

  private batchLines: Normalized[] = [];
  private batchSpools: (string | undefined)[] = [];
  private batchBytes = 0;

  private onAccepted(result: Extract<Ingested, { kind: 'accepted' }>): void {
    const normalized = result.normalized;
    if (normalized.warning) this.log(normalized.warning);
    this.recentIds.add(normalized.envelope.id, normalized.line.length + 1);
    this.batchLines.push(normalized);
    this.batchSpools.push(result.spoolFile);
    this.batchBytes += normalized.line.length;
  }

  /**
   * Validates and stamps one line. Whatever goes wrong with one line — a
   * case no rule foresaw included — rejects that line alone (`unprocessable`):
   * no input may stop the router, nor wedge the replay that follows a crash.
   */
  private ingest(bytes: Buffer, origin: Origin, ts: number, makeId: () => string): Ingested {
    try {
      const result = ingestLine(this.layout, bytes, origin, ts, makeId, this.options.maxLineBytes);
      if (result.kind === 'accepted' && result.normalized.envelope.to.startsWith('role:')) this.chooseRecipient(result.normalized);
      return result;
    } catch (error) {
      return { kind: 'rejected', error: new InvalidMessageError('unprocessable', `Line could not be processed: ${(error as Error)?.message ?? String(error)}`) };
    }
  }

  /** A role is resolved once, here, and the choice journaled: re-delivery goes to the same agent. */
  private chooseRecipient(normalized: Normalized): void {
    // The registry must be current: an agent marked failed a moment ago is not a choice.
    this.registry.reloadIfChanged();
    const chosen = this.book.chooseForRole(normalized.envelope.to.slice(5));
    if (!chosen) return;
    normalized.envelope.rcpt = chosen;
    normalized.line = withRcpt(normalized.line, chosen);
  }

  /**
   * After a crash: consumes again every read after the intake's mark. Lines
   * the journal (or the dead-letter log) already has are recognised by their
   * ids and skipped; a line not yet complete goes on with the reads after it.
   */
  private replayIntake(): void {
    const mark = this.intake.startMark;
    const journalDir = this.layout.journalDir;
    const end = this.journal.end;
    const deadLetterFile = this.layout.deadLetterFile;
    // Built when the first line is met: with nothing to replay (the usual start) the journal is not read.
    let ids: Set<string> | undefined;
    let deadIds: Set<string> | undefined;
    this.intake.setReplay({
      get ids() {
        if (!ids) {
          ids = new Set();
          for (const l of journalLines(journalDir, Math.min(mark.journalEnd, end), end)) ids.add((JSON.parse(l.line) as Envelope).id);
        }
        return ids;
      },
      get deadIds() {
        return (deadIds ??= recentDeadLetterIds(deadLetterFile));
      },
    });
    const before = this.stats.accepted;
    let records = 0;
    for (;;) {
      const result = this.intake.consume(Infinity);
      records += result.records;
      this.flushBatch();
      if (!result.more || this.stalled.length > 0) break;
    }
    this.intake.setReplay(undefined);
    // Recovered lines reach their consumers by the journal, like any backlog.
    if (this.stalled.length === 0) this.journal.syncNow();
    this.unsynced = [];
    this.unsyncedBytes = 0;
    if (records > 0) this.log(`intake: replayed ${records} read(s); ${this.stats.accepted - before} line(s) recovered`);
  }

  /** Journals lines; false when the journal could not take them (they wait in `stalled`, or the retry goes on). */
  private appendAccepted(lines: Normalized[], spools: (string | undefined)[]): boolean {
    if (this.stalled.length > 0 && !this.retrying) {
      this.stalled.push({ lines, spools }); // behind what waits already: order is kept
      return false;
    }
    const text = lines.length === 1 ? `${lines[0]!.line}\n` : `${lines.map((l) => l.line).join('\n')}\n`;
    // Encoded once; when every character took one byte (ASCII, the usual case) a
    // line's length is its byte count and no line needs counting on its own.
    const bytes = Buffer.from(text, 'utf8');
    const ascii = bytes.length === text.length;
    let start: number;
    try {
      start = this.journal.append(bytes);
    } catch (error) {
      // A full disk: keep these lines, consume nothing more (the intake keeps the rest), retry.
      if (!this.retrying) this.stall(lines, spools, error as Error);
      return false;
    }
    let offset = start;
    for (let i = 0; i < lines.length; i++) {
      const { envelope, line } = lines[i]!;
      const end = offset + (ascii ? line.length : Buffer.byteLength(line)) + 1;
      const accepted: Accepted = { offset, end, line, envelope };
      if (spools[i]) accepted.spoolFile = spools[i]!;
      this.unsynced.push(accepted);
      offset = end;
    }
    this.unsyncedBytes += offset - start;
    this.stats.accepted += lines.length;
    this.emit('accepted', lines.length);
    if (this.options.durability === 'message') {
      this.journal.syncNow();
      this.dispatchDurable();
    } else if (this.options.durability === 'never') {
      this.dispatchDurable();
    } else {
      this.scheduleSync();
    }
    return true;
  }

  private retrying = false;

  private stall(lines: Normalized[], spools: (string | undefined)[], error: Error): void {
    // In pieces of about 64 KiB: a nearly full disk takes a small piece where a whole batch would not fit.
    for (let i = 0; i < lines.length; ) {
      let bytes = 0;
      let j = i;
      while (j < lines.length && (j === i || bytes + lines[j]!.line.length < STALL_PIECE_BYTES)) bytes += lines[j++]!.line.length + 1;
      this.stalled.push({ lines: lines.slice(i, j), spools: spools.slice(i, j) });
      i = j;
    }
    if (this.stalledSince) return;
    this.stalledSince = new Date();
    this.log(`${error.message}; the journal is full: intake waits (nothing is lost) and is retried every 1s`);
    this.status.write();
    const timer = setInterval(() => {
      if (this.closePromise) return;
      this.retrying = true;
      try {
        while (this.stalled.length > 0) {
          const next = this.stalled[0]!;
          if (!this.appendAccepted(next.lines, next.spools)) return;
          this.stalled.shift();
        }
      } finally {
        this.retrying = false;
      }
      clearInterval(timer);
      this.timers = this.timers.filter((t) => t !== timer);
      this.log(`journal: disk space is back after ${Math.round((Date.now() - this.stalledSince!.getTime()) / 1000)}s`);
      this.stalledSince = undefined;
      this.intake.writeMark();
      this.consumeIntake();
    }, 1000);
    this.timers.push(timer);
  }

  /** Group commit: one fsync covers everything written while the previous one ran. */
  private scheduleSync(): void {
    if (this.syncing) return;
    this.syncing = true;
    // One fdatasync per round, then dispatch: `sync()` would chase the appends made
    // meanwhile and, under steady intake, hold everything back until 64 MB piled up.
    void this.journal.syncOnce().then(
      () => {
        this.syncing = false;
        this.dispatchDurable();
        if (this.unsynced.length > 0) this.scheduleSync();
      },
      (error: unknown) => {
        this.syncing = false;
        this.fail(new BusError(`Journal fsync failed: ${(error as Error).message}`, { cause: error }));
      },
    );
  }

  // ---- dispatch ----------------------------------------------------------

  /** Hands every durable message to the consumers it is for. */
  private dispatchDurable(): void {
    const durableEnd = this.options.durability === 'never' ? this.journal.end : this.journal.durableEnd;
    let n = 0;
    while (n < this.unsynced.length && this.unsynced[n]!.end <= durableEnd) n++;
    if (n === 0) return;
    const batch = this.unsynced.splice(0, n);
    for (const accepted of batch) {
      this.unsyncedBytes -= accepted.end - accepted.offset;
      this.dispatch(accepted);
      if (accepted.spoolFile) fs.rm(accepted.spoolFile, { force: true }, () => undefined);
    }
    this.dispatched = batch.at(-1)!.end;
    this.consumers.advance(this.dispatched);
    if (this.unsyncedBytes < MAX_UNSYNCED_BYTES / 2) this.consumeIntake();
  }

  private dispatch(accepted: Accepted): void {
    const recipients = this.book.recipients(accepted.envelope);
    if (recipients.unknown !== undefined) {
      const full = this.held.hold(recipients.unknown, accepted);
      if (full) this.deadLetter(full);
    }
    this.consumers.offer(accepted, recipients.agents);
  }

  private expireHeld(): void {
    for (const record of this.held.expire()) this.deadLetter(record);
  }

  private facts(ready: boolean): StatusFacts {
    return {
      root: this.layout.root,
      started: this.started,
      ready,
      stopping: this.closePromise !== undefined,
      underKeeper: this.options.underKeeper,
      restarts: this.options.restarts,
      durability: this.options.durability,
      stats: this.stats,
      held: this.held.size,
      journalEnd: this.journal?.end ?? 0,
      diskFullSince: this.stalledSince ?? this.pump?.diskFullSince,
      agents: this.book.names,
      consumers: this.consumers.values(),
    };
  }

  private deadLetter(record: DeadLetter): void {
    this.stats.deadLettered++;
    this.deadLetters.record(record);
    this.emit('deadLetter', record);
  }

  private log(line: string): void {
    this.options.log(line);
  }

  private fail(error: Error): void {
    this.log(error.message);
    this.emit('error', error);
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.status.close();
    this.cursors.close();
    await this.registry.close();
    // Alone, the router stops reading the pipes first (what they still hold is read into the intake),
    // then journals everything the intake has.
    this.pump?.close();
    if (this.journal && !this.root.lost) {
      while (this.intake.consume().more && !this.mustPause()) this.flushBatch();
      this.flushBatch();
      // Everything read is made durable and handed out before the cursors are saved.
      try {
        this.journal.syncNow();
      } catch (error) {
        this.log(`journal: final fsync failed: ${(error as Error).message}`);
      }
      this.dispatchDurable();
      await new Promise((r) => setTimeout(r, 50)); // let in-flight inbox writes finish
      await this.cursors.final();
    }
    await this.consumers.close();
    for (const close of [() => this.journal?.close(), () => this.intake?.close(), () => this.intakeWriter?.close(), () => this.deadLetters.close()]) {
      try {
        close();
      } catch (error) {
        this.log(`closing: ${(error as Error).message}`);
      }
    }
    if (!this.root?.lost) {
      this.status.write(false);
      await this.lock?.release();
    }
    this.emit('closed');
  }
}
