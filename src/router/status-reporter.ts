import { consumerKindOf } from '../bus/address-book.js';
import type { Layout } from '../bus/layout.js';
import type { Consumer } from './consumer.js';
import { writeRouterStatus, type RouterStatus } from './router-status.js';

/** What of a consumer the status file shows. */
export type ConsumerView = Pick<Consumer, 'key' | 'agent' | 'cursor' | 'isLive' | 'deliveredTotal' | 'waiting' | 'undelivered'>;

/** What the router knows of itself at one moment, for its status file. */
export interface StatusFacts {
  root: string;
  started: Date;
  ready: boolean;
  stopping: boolean;
  underKeeper: boolean;
  restarts: number;
  durability: string;
  stats: Readonly<{ accepted: number; delivered: number; deadLettered: number }>;
  held: number;
  journalEnd: number;
  /** Since when the journal (or, running alone, the intake) takes nothing. */
  diskFullSince: Date | undefined;
  /** Every registered agent, shown even with no consumer. */
  agents: readonly string[];
  consumers: Iterable<ConsumerView>;
}

/** The status file's content: the facts, with the process's pid and memory (and the keeper's pid, under one). */
export function routerStatusOf(facts: StatusFacts, env: NodeJS.ProcessEnv = process.env): RouterStatus {
  const agents: RouterStatus['agents'] = {};
  for (const name of facts.agents) agents[name] = { undelivered: 0, consumers: {} };
  for (const c of facts.consumers) {
    const entry = (agents[c.agent] ??= { undelivered: 0, consumers: {} });
    entry.undelivered = Math.max(entry.undelivered, c.undelivered);
    entry.consumers[consumerKindOf(c.key)] = {
      cursor: c.cursor,
      live: c.isLive,
      delivered: c.deliveredTotal,
      ...(c.waiting ? { waiting: c.waiting } : {}),
    };
  }
  return {
    pid: process.pid,
    ...(facts.underKeeper && env.BMAD_BUS_KEEPER_PID ? { keeper_pid: Number(env.BMAD_BUS_KEEPER_PID) } : {}),
    root: facts.root,
    started: facts.started.toISOString(),
    updated: new Date().toISOString(),
    ready: facts.ready,
    ...(facts.stopping ? { stopping: true } : {}),
    restarts: facts.restarts,
    durability: facts.durability,
    accepted: facts.stats.accepted,
    delivered: facts.stats.delivered,
    dead_lettered: facts.stats.deadLettered,
    held: facts.held,
    journal_end: facts.journalEnd,
    ...(facts.diskFullSince ? { disk_full_since: facts.diskFullSince.toISOString() } : {}),
    rss: process.memoryUsage.rss(),
    heap_used: process.memoryUsage().heapUsed,
    agents,
  };
}

export interface StatusReporterHost {
  facts(ready: boolean): StatusFacts;
  /** False once the root is not ours any more: nothing is written into that path. */
  mayWrite(): boolean;
  log(line: string): void;
}

/** An unchanged status is written again this often (its `updated`, `rss`, `heap_used`). */
const UNCHANGED_EVERY_MS = 5000;

/** Rewrites the router's status file (state/router-status.json, what `status` reads) when asked: the router's timer, its start and its end. */
export class StatusReporter {
  private lastKey = '';
  private lastWrite = 0;

  constructor(private readonly layout: Layout, private readonly host: StatusReporterHost) {}

  /**
   * Writes the status now; for the timer (`onlyIfChanged`), only when
   * something but the time and the memory figures changed, or once every
   * few seconds: each write is a rename, which ext4 makes flush the new
   * file, and an idle router wrote four a second for nothing.
   */
  write(ready = true, onlyIfChanged = false): void {
    if (!this.host.mayWrite()) return;
    const status = routerStatusOf(this.host.facts(ready));
    const { updated: _u, rss: _r, heap_used: _h, ...facts } = status;
    const key = JSON.stringify(facts);
    const now = Date.now();
    if (onlyIfChanged && key === this.lastKey && now - this.lastWrite < UNCHANGED_EVERY_MS) return;
    this.lastKey = key;
    this.lastWrite = now;
    try {
      writeRouterStatus(this.layout, status);
    } catch (error) {
      this.host.log(`status: ${(error as Error).message}`);
    }
  }

}
