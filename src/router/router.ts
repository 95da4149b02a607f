import { EventEmitter } from 'node:events';
import path from 'node:path';
import { AddressBook } from '../bus/address-book.js';
import { createEnvelope, serialize, withRcpt, type Envelope, type Normalized, type Origin } from '../bus/envelope.js';
import { BusError, InvalidMessageError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { verifyRoot } from '../bus/root.js';
import { readStateFile } from '../bus/state-file.js';
import { RoleTurns } from '../bus/role-turns.js';
import { readCursors } from '../journal/cursors.js';
import type { DeadLetter } from '../journal/dead-letters.js';
import { IdWindow } from '../journal/id-window.js';
import { acquireWriterLock, type WriterLock } from '../journal/writer-lock.js';
import { JournalWriter } from '../journal/writer.js';
import { ConsumerSet } from './consumer-set.js';
import { CursorPersister } from './cursor-persister.js';
import { DeadLetterRecorder } from './dead-letter-recorder.js';
import { GroupCommit, type Accepted } from './group-commit.js';
import { HoldQueue } from './hold-queue.js';
import { IntakeDrain } from './intake-drain.js';
import type { IntakePosition } from './intake-format.js';
import { IntakePump } from './intake-pump.js';
import { alreadyRecorded } from './intake-replay.js';
import { IntakeWriter } from './intake-writer.js';
import { ingestLine, type Ingested } from './ingest.js';
import { RegistryWatch } from './registry-watch.js';
import { RootGuard } from './root-guard.js';
import { normalizeRouterOptions, type RouterOptions, type RouterOptionsInput } from './router-options.js';
import { StatusReporter, type StatusFacts } from './status-reporter.js';

export interface RouterEvents {
  ready: [];
  accepted: [count: number];
  deadLetter: [record: DeadLetter];
  error: [error: Error];
  closed: [];
}

/**
 * The one process per bus root that reads every pipe, stamps and journals
 * each line (group commit), and hands journaled messages to consumers.
 * Data flows one way: pipe → ingest → journal → dispatch → inbox / pane.
 * The router wires the parts that do each step, and owns what they share:
 * the address book, the ids seen, the counters.
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
  private readonly started = new Date();
  private readonly stats = { accepted: 0, delivered: 0, deadLettered: 0 };
  private readonly book = new AddressBook({ agents: {}, groups: {} });
  private readonly held: HoldQueue;
  private readonly consumers: ConsumerSet;
  private readonly registry: RegistryWatch;
  private readonly cursors: CursorPersister;
  private readonly status: StatusReporter;
  private readonly deadLetters: DeadLetterRecorder;
  /** Ids of the latest messages: a line with one of them is a duplicate (dead-lettered, not journaled). */
  private recentIds = new IdWindow();
  private lock: WriterLock | undefined;
  /** Loaded at the first `role:` message, after the writer lock is ours (a `send` may have moved it before). */
  private roleTurns: RoleTurns | undefined;
  private root!: RootGuard;
  private journal!: JournalWriter;
  private commit!: GroupCommit;
  /** Reads the intake (written by the keeper, or by `pump` when running alone) into the journal. */
  private drain!: IntakeDrain;
  private intakeWriter: IntakeWriter | undefined;
  private pump: IntakePump | undefined;
  /** The intake writer's end as last announced by the keeper (undefined: look at the files). */
  private announcedEnd: IntakePosition | undefined;
  /** Offset up to which journaled messages were handed to the consumers. */
  private dispatched = 0;
  private timers: NodeJS.Timeout[] = [];
  private closePromise: Promise<void> | undefined;

  constructor(layout: Layout, options: RouterOptionsInput = {}) {
    super();
    this.layout = layout;
    this.options = normalizeRouterOptions(options);
    const log = (line: string): void => this.log(line);
    // A router that never started has no root of its own to write into.
    const mayWrite = (): boolean => this.root?.stillOurs() ?? false;
    this.deadLetters = new DeadLetterRecorder(layout.deadLetterFile, log);
    this.held = new HoldQueue({ holdMs: this.options.holdMs, deadLetterFile: layout.deadLetterFile });
    this.consumers = new ConsumerSet(layout, this.book, this.held, this.options.tmuxSocket, this.options.paneSinks, {
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
    this.commit = this.groupCommit(this.journal);
    this.book.update(readRegistry(this.layout));
    this.recentIds = IdWindow.load(this.layout.journalDir, this.journal.end);
    // Alone, the router reads the pipes itself; under a keeper, the keeper does and writes the intake.
    if (!this.options.underKeeper) this.intakeWriter = new IntakeWriter(this.layout.journalDir);
    this.drain = this.intakeDrain();
    const previousEnd = readStateFile<{ journal_end?: number }>(this.layout.routerStatusFile, {}).journal_end;
    this.replayIntake();
    this.dispatched = this.journal.end;
    this.held.holdUnknownSince(this.layout.journalDir, this.book, previousEnd, this.journal.end);
    this.consumers.sync(readCursors(this.layout));
    this.consumers.countBacklog(this.journal.end);
    await this.registry.start(false);
    if (this.intakeWriter) {
      this.pump = new IntakePump(this.layout, this.intakeWriter, { onAppend: () => this.drain.consume(), log: (line) => this.log(line) });
      this.pump.start();
    }
    // One timer for the looks now and then (an idle router's wake-ups are its CPU): held messages
    // past their time, a registry change the watcher missed, the status file, and (under a keeper,
    // which says when it wrote: `intakeAppended`) the intake files, in case a word was missed.
    const underKeeper = !this.intakeWriter;
    this.timers.push(setInterval(() => {
      if (underKeeper) this.drain.consume(true);
      this.expireHeld();
      this.registry.reloadIfChanged();
      this.status.write(true, true);
    }, this.options.statusIntervalMs));
    this.cursors.start(this.options.cursorIntervalMs);
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
    this.drain.consume();
  }

  /** Accepts a message made inside the daemon (supervisor, pane sink events). */
  publish(message: { to: string; type: string; body: unknown; from?: string }): Envelope | undefined {
    if (this.closePromise) return undefined;
    const envelope = createEnvelope({ from: message.from ?? 'router', to: message.to, type: message.type, body: message.body });
    this.drain.flush(); // what was read before goes first
    this.recentIds.add(envelope.id, 0);
    this.commit.append([{ envelope, line: serialize(envelope) }], [undefined]);
    return envelope;
  }

  get counters(): Readonly<{ accepted: number; delivered: number; deadLettered: number }> {
    return this.stats;
  }

  // ---- wiring ------------------------------------------------------------

  private groupCommit(journal: JournalWriter): GroupCommit {
    return new GroupCommit(journal, this.options.durability, {
      appended: (count) => {
        this.stats.accepted += count;
        this.emit('accepted', count);
      },
      dispatch: (accepted) => this.dispatch(accepted),
      dispatched: (end) => {
        this.dispatched = end;
        this.consumers.advance(end);
      },
      resume: () => this.drain.consume(),
      stallBegan: (error) => {
        this.log(`${error.message}; the journal is full: intake waits (nothing is lost) and is retried every 1s`);
        this.status.write();
      },
      stallEnded: (ms) => {
        this.log(`journal: disk space is back after ${Math.round(ms / 1000)}s`);
        this.drain.writeMark();
        this.drain.consume();
      },
      closed: () => this.closePromise !== undefined,
      fail: (error) => this.fail(error),
    });
  }

  private intakeDrain(): IntakeDrain {
    return new IntakeDrain(this.layout, {
      maxLineBytes: this.options.maxLineBytes,
      ingest: (bytes, origin, ts, makeId) => this.ingest(bytes, origin, ts, makeId),
      seen: (id) => this.recentIds.has(id),
      reject: (record) => this.deadLetter(record),
      parsed: (normalized) => {
        if (normalized.warning) this.log(normalized.warning);
        this.recentIds.add(normalized.envelope.id, normalized.line.length + 1);
      },
      append: (lines, spools) => void this.commit.append(lines, spools),
      journalEnd: () => this.journal.end,
      stalled: () => this.commit.stalled,
      mustPause: () => this.commit.mustPause(),
      closed: () => this.closePromise !== undefined,
      writerEnd: () => this.intakeWriter?.end ?? this.announcedEnd,
    });
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
      diskFullSince: this.commit?.diskFullSince ?? this.pump?.diskFullSince,
      agents: this.book.names,
      consumers: this.consumers.values(),
    };
  }

  // ---- intake ------------------------------------------------------------

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
    const chosen = this.book.chooseForRole(normalized.envelope.to.slice(5), (this.roleTurns ??= RoleTurns.load(this.layout)));
    if (!chosen) return;
    normalized.envelope.rcpt = chosen;
    normalized.line = withRcpt(normalized.line, chosen);
  }

  /** After a crash: consumes again every read after the intake's mark (what was journaled already is skipped). */
  private replayIntake(): void {
    const end = this.journal.end;
    const known = alreadyRecorded({ journalDir: this.layout.journalDir, deadLetterFile: this.layout.deadLetterFile, from: this.drain.startMark.journalEnd, end });
    const before = this.stats.accepted;
    const records = this.drain.replay(known);
    this.commit.settleReplay();
    if (records > 0) this.log(`intake: replayed ${records} read(s); ${this.stats.accepted - before} line(s) recovered`);
  }

  // ---- dispatch ----------------------------------------------------------

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
    this.cursors.close();
    this.commit?.close();
    await this.registry.close();
    // Alone, the router stops reading the pipes first (what they still hold is read into the intake),
    // then journals everything the intake has.
    this.pump?.close();
    if (this.journal && !this.root.lost) {
      this.drain.finish();
      // Everything read is made durable and handed out before the cursors are saved.
      try {
        this.journal.syncNow();
      } catch (error) {
        this.log(`journal: final fsync failed: ${(error as Error).message}`);
      }
      this.commit.dispatchDurable();
      await new Promise((r) => setTimeout(r, 50)); // let in-flight inbox writes finish
      await this.cursors.final();
    }
    await this.consumers.close();
    for (const close of [() => this.journal?.close(), () => this.drain?.close(), () => this.intakeWriter?.close(), () => this.deadLetters.close()]) {
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
