import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { AddressBook } from '../bus/address-book.js';
import { createEnvelope, serialize, withRcpt, type Envelope, type Normalized, type Origin } from '../bus/envelope.js';
import { BusError, InvalidMessageError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry, type AgentRecord } from '../bus/registry.js';
import { verifyRoot } from '../bus/root.js';
import { readStateFile } from '../bus/state-file.js';
import { countBacklog } from '../journal/backlog.js';
import { readCursors } from '../journal/cursors.js';
import { deadLetterFor, recentDeadLetterIds, type DeadLetter } from '../journal/dead-letters.js';
import { journalLines } from '../journal/reader.js';
import { acquireWriterLock, type WriterLock } from '../journal/writer-lock.js';
import { JournalWriter } from '../journal/writer.js';
import { Consumer, INBOX_LIMITS, PANE_LIMITS, type ConsumerHost } from './consumer.js';
import { CursorPersister } from './cursor-persister.js';
import { DeadLetterRecorder } from './dead-letter-recorder.js';
import { InboxSink } from './inbox-sink.js';
import { IntakeConsumer, type IntakeConsumerHost } from './intake-consumer.js';
import { IntakePump } from './intake-pump.js';
import { IntakeWriter } from './intake-writer.js';
import type { IntakePosition } from './intake-format.js';
import { IdWindow } from '../journal/id-window.js';
import { ingestLine, type Ingested } from './ingest.js';
import { LazySink } from './lazy-sink.js';
import { RootGuard } from './root-guard.js';
import { normalizeRouterOptions, type RouterOptions, type RouterOptionsInput } from './router-options.js';
import { StatusReporter, type StatusFacts } from './status-reporter.js';
import type { DeliveryItem, Sink } from '../bus/delivery.js';

/** A message accepted into the journal, with where it sits. */
interface Accepted {
  offset: number;
  end: number;
  line: string;
  envelope: Envelope;
  spoolFile?: string;
}

/** A message for an agent nobody registered (yet): held, then dead-lettered. */
interface Held {
  name: string;
  offset: number;
  line: string;
  id: string;
  expires: number;
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
const MAX_HELD = 100_000;
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
  private consumers = new Map<string, Consumer>();
  private book = new AddressBook({ agents: {}, groups: {} });
  private watcher: FSWatcher | undefined;
  /** Written to the journal, waiting for fsync before dispatch. */
  private unsynced: Accepted[] = [];
  private unsyncedBytes = 0;
  private syncing = false;
  private dispatched = 0;
  private held: Held[] = [];
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
    this.cursors = new CursorPersister(layout, { snapshot: () => this.cursorSnapshot(), mayWrite, log });
    this.status = new StatusReporter(layout, { facts: (ready) => this.facts(ready), mayWrite, log });
    this.consumerHost = { ...this.consumerHost, journalDir: layout.journalDir };
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
    this.holdUnknownSince(previousEnd);
    this.syncConsumers(readCursors(this.layout));
    this.countBacklog();
    await this.watch();
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
    for (const consumer of this.consumers.values()) consumer.wake();
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
    this.reloadRegistryIfChanged();
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
    for (const consumer of this.consumers.values()) consumer.advance(this.dispatched);
    if (this.unsyncedBytes < MAX_UNSYNCED_BYTES / 2) this.consumeIntake();
  }

  private dispatch(accepted: Accepted): void {
    const recipients = this.book.recipients(accepted.envelope);
    if (recipients.unknown !== undefined) this.hold(recipients.unknown, accepted);
    const item: DeliveryItem = accepted;
    for (const agent of recipients.agents) {
      for (const key of this.book.consumersOf(agent)) {
        const consumer = this.consumers.get(key);
        if (!consumer) continue;
        consumer.undelivered++;
        consumer.offer(item);
      }
    }
  }

  private hold(name: string, accepted: Accepted): void {
    if (this.held.length >= MAX_HELD) {
      this.deadLetter(deadLetterFor('unknown_recipient', `No agent ${name} registered (hold queue full)`, accepted.line, { id: accepted.envelope.id }));
      return;
    }
    this.held.push({ name, offset: accepted.offset, line: accepted.line, id: accepted.envelope.id, expires: Date.now() + this.options.holdMs });
  }

  /**
   * Messages `send` journaled while no router ran (and those a crashed
   * predecessor held) were never checked for unknown recipients: hold them now,
   * from the time they were sent, so they are dead-lettered if nobody registers.
   */
  private holdUnknownSince(from: number | undefined): void {
    const end = this.journal.end;
    for (const l of journalLines(this.layout.journalDir, Math.min(from ?? end, end), end)) {
      const envelope = JSON.parse(l.line) as Envelope;
      const unknown = this.book.recipients(envelope).unknown;
      if (unknown === undefined) continue;
      const sent = Date.parse(envelope.ts);
      this.held.push({ name: unknown, offset: l.offset, line: l.line, id: envelope.id, expires: (Number.isNaN(sent) ? Date.now() : sent) + this.options.holdMs });
    }
    this.held.sort((a, b) => a.expires - b.expires);
  }

  private expireHeld(): void {
    const now = Date.now();
    let n = 0;
    while (n < this.held.length && this.held[n]!.expires <= now) n++;
    if (n === 0) return;
    const known = this.held.length > 0 ? recentDeadLetterIds(this.layout.deadLetterFile) : new Set<string>();
    for (const h of this.held.splice(0, n)) {
      if (known.has(h.id)) continue; // a predecessor dead-lettered it already
      const what = h.name.startsWith('role:') ? `No live agent of role ${h.name.slice(5)}` : `No agent \`${h.name}\` registered`;
      this.deadLetter(deadLetterFor('unknown_recipient', `${what} within ${Math.round(this.options.holdMs / 1000)}s`, h.line, { id: h.id }));
    }
  }

  private consumerHost: ConsumerHost = {
    journalDir: '',
    dispatchedEnd: () => this.dispatched,
    isFor: (envelope, agent) => this.book.recipients(envelope).agents.includes(agent),
    onDelivered: (_consumer, items) => {
      this.stats.delivered += items.length;
      this.cursors.handedOver();
    },
    log: (line) => this.log(line),
  };

  /** Makes the set of consumers match the registry: one per agent and delivery kind. */
  private syncConsumers(saved: Record<string, number>): void {
    const wanted = new Map<string, AgentRecord>();
    for (const name of this.book.names) {
      for (const key of this.book.consumersOf(name)) wanted.set(key, this.book.get(name)!);
    }
    for (const [key, consumer] of this.consumers) {
      const agent = wanted.get(key);
      if (!agent || consumer.sink instanceof LazySink && consumer.sink.signature !== paneSignature(agent)) {
        void consumer.close();
        this.consumers.delete(key);
        this.cursors.changed();
      }
    }
    for (const [key, agent] of wanted) {
      if (this.consumers.has(key)) continue;
      const start = saved[key] ?? this.startFor(agent);
      const kind = key.startsWith('inbox:') ? 'inbox' : 'tmux';
      const sink: Sink = kind === 'inbox' ? new InboxSink(this.layout.inboxPipe(agent.name), () => this.root.stillOurs()) : this.paneSink(agent);
      const consumer = new Consumer(key, agent.name, sink, start, this.consumerHost, kind === 'inbox' ? INBOX_LIMITS : PANE_LIMITS);
      this.consumers.set(key, consumer);
      this.cursors.changed();
      if (this.journal) consumer.wake();
    }
  }

  /** Where delivery starts for an agent with no cursor yet: its held messages, else its registration. */
  private startFor(agent: AgentRecord): number {
    const end = this.journal ? this.journal.end : 0;
    let start = Math.min(agent.since ?? end, end);
    const mine = this.held.filter((h) => h.name === agent.name);
    if (mine.length > 0) {
      start = Math.min(start, mine[0]!.offset);
      this.held = this.held.filter((h) => h.name !== agent.name);
    }
    return start;
  }

  private paneSink(agent: AgentRecord): Sink {
    return new LazySink(paneSignature(agent), async () => {
      const { createPaneSink } = await import('../tmux/pane-sink.js');
      return createPaneSink(agent, {
        socket: agent.tmux_socket ?? this.options.tmuxSocket,
        publish: (message) => void this.publish(message),
        log: (line) => this.log(`tmux:${agent.name}: ${line}`),
      });
    });
  }

  /** Counts each consumer's undelivered messages once at start (what lies between its cursor and the end). */
  private countBacklog(): void {
    const starts = new Map([...this.consumers].map(([key, c]) => [key, c.cursor]));
    for (const [key, n] of countBacklog(this.layout.journalDir, this.book, starts, this.journal.end)) this.consumers.get(key)!.undelivered = n;
  }

  // ---- state -------------------------------------------------------------

  /** Resolves once chokidar's initial scan is done (or it failed: polling covers the registry). */
  private watch(): Promise<void> {
    this.watcher = watch(this.layout.registryFile, { ignoreInitial: true, depth: 0, atomic: false });
    this.watcher.on('add', () => this.reloadRegistry());
    this.watcher.on('change', () => this.reloadRegistry());
    const watcher = this.watcher;
    const ready = new Promise<void>((resolve) => {
      watcher.once('ready', resolve);
      watcher.once('error', () => resolve());
    });
    this.watcher.on('error', (error) => this.log(`watch: ${(error as Error).message}`));
    // chokidar can miss a rename-over of the registry: look again now and then.
    this.timers.push(setInterval(() => this.reloadRegistryIfChanged(), 200));
    return ready;
  }

  private registryMtime = 0;

  private reloadRegistryIfChanged(): void {
    // Consumers are set up once start() has the journal's end: not from inside the intake replay.
    if (!this.watcher) return;
    try {
      const mtime = fs.statSync(this.layout.registryFile).mtimeMs;
      if (mtime !== this.registryMtime) this.reloadRegistry();
    } catch {
      // No registry yet.
    }
  }

  private reloadRegistry(): void {
    try {
      this.registryMtime = fs.statSync(this.layout.registryFile).mtimeMs;
      this.book.update(readRegistry(this.layout));
    } catch (error) {
      this.log(`registry: ${(error as Error).message}`);
      return;
    }
    this.syncConsumers(readCursors(this.layout));
  }

  private cursorSnapshot(): Record<string, number> {
    const cursors: Record<string, number> = {};
    for (const [key, consumer] of this.consumers) cursors[key] = consumer.cursor;
    return cursors;
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
      held: this.held.length,
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
    await this.watcher?.close().catch(() => undefined);
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
    await Promise.all([...this.consumers.values()].map((c) => c.close().catch(() => undefined)));
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

function paneSignature(agent: AgentRecord): string {
  return JSON.stringify([agent.tmux, agent.tmux_socket, agent.tmux_server, agent.submit, agent.submit_delay, agent.command, agent.template, agent.multiline, agent.deliver]);
}

