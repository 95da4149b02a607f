import type http from 'node:http';
import { decodeJournalLine, type Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { parseJsonOrUndefined } from '../bus/json-scan.js';
import type { DeadLetter } from '../journal/dead-letters.js';
import { followFile, followJournal } from '../journal/follow.js';
import { journalEnd } from '../journal/segments.js';
import { MonitorSampler } from '../team/monitor-snapshot.js';
import type { MonitorSnapshot } from '../team/monitor-view.js';
import fs from 'node:fs';

/** How often queued messages go out to the page: one event per tick, however fast they come. */
const BATCH_MS = 100;
/** Messages per tick and page at most; past that the page gets a `gap` (it can page back for them). */
const MAX_PER_BATCH = 500;
const SNAPSHOT_MS = 1000;
/** What a page may leave unread in its connection before it is dropped. */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024;

interface Client {
  res: http.ServerResponse;
  messages: Array<{ offset: number; envelope: Envelope }>;
  dead: DeadLetter[];
  skipped: number;
}

/** The snapshot the page shows: the monitor's, with each agent's profile, pane and machine from the registry. */
export type WebSnapshot = MonitorSnapshot & { agents: Array<MonitorSnapshot['agents'][number] & { profile?: string; tmux?: string; machine?: string }> };

/**
 * The live side of `bmad-bus web`: one follower of the journal and one of
 * the dead-letter log for all pages, and for each page a queue sent as one
 * Server-Sent Event per BATCH_MS, capped at MAX_PER_BATCH (the rest is
 * counted in a `gap` event), so 1,000 msg/s cost the browser ten events a
 * second and a bounded DOM. A snapshot of the team goes out every second.
 */
export class WebStream {
  private readonly clients = new Set<Client>();
  private readonly controller = new AbortController();
  private readonly sampler: MonitorSampler;
  private latest: { at: number; value: Promise<WebSnapshot> } | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly layout: Layout, socket: string | undefined) {
    this.sampler = new MonitorSampler(layout, { socket });
  }

  start(): void {
    void this.followMessages();
    void this.followDeadLetters();
    this.timers.push(setInterval(() => this.flush(), BATCH_MS));
    this.timers.push(setInterval(() => void this.pushSnapshot(), SNAPSHOT_MS));
  }

  /** The team now (shared by the pages and `/api/snapshot`: sampled at most once a second). */
  snapshot(): Promise<WebSnapshot> {
    if (this.latest && Date.now() - this.latest.at < 1000) return this.latest.value;
    const value = this.sample();
    this.latest = { at: Date.now(), value };
    return value;
  }

  attach(req: http.IncomingMessage, res: http.ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    const client: Client = { res, messages: [], dead: [], skipped: 0 };
    this.clients.add(client);
    req.on('close', () => this.clients.delete(client));
    void this.snapshot().then((s) => send(res, 'snapshot', s)).catch(() => undefined);
  }

  close(): void {
    this.controller.abort();
    for (const t of this.timers) clearInterval(t);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private async sample(): Promise<WebSnapshot> {
    const snapshot = await this.sampler.snapshot();
    const registry = readRegistry(this.layout);
    const agents = snapshot.agents.map((a) => {
      const record = registry.agents[a.name];
      return { ...a, ...(record?.profile ? { profile: record.profile } : {}), ...(record?.tmux ? { tmux: record.tmux } : {}), ...(record?.machine ? { machine: record.machine } : {}) };
    });
    return { ...snapshot, agents };
  }

  private async pushSnapshot(): Promise<void> {
    if (this.clients.size === 0) return;
    try {
      const s = await this.snapshot();
      for (const c of this.clients) send(c.res, 'snapshot', s);
    } catch {
      // The next tick tries again (a registry being replaced, tmux busy).
    }
  }

  private async followMessages(): Promise<void> {
    for await (const line of followJournal(this.layout.journalDir, journalEnd(this.layout.journalDir), { signal: this.controller.signal })) {
      if (this.clients.size === 0) continue;
      let envelope: Envelope;
      try {
        envelope = decodeJournalLine(line.line);
      } catch {
        continue;
      }
      for (const c of this.clients) {
        if (c.messages.length < MAX_PER_BATCH) c.messages.push({ offset: line.offset, envelope });
        else c.skipped++;
      }
    }
  }

  private async followDeadLetters(): Promise<void> {
    const file = this.layout.deadLetterFile;
    const size = (() => {
      try {
        return fs.statSync(file).size;
      } catch {
        return 0;
      }
    })();
    for await (const line of followFile(file, size, { signal: this.controller.signal })) {
      const record = parseJsonOrUndefined<DeadLetter>(line);
      if (!record) continue;
      for (const c of this.clients) if (c.dead.length < MAX_PER_BATCH) c.dead.push(record);
    }
  }

  private flush(): void {
    for (const c of this.clients) {
      // A page that stopped reading (a frozen tab) would grow this process without bound: it is let go, and reconnects when it wakes.
      if (c.res.writableLength > MAX_UNREAD_BYTES) {
        this.clients.delete(c);
        c.res.destroy();
        continue;
      }
      if (c.messages.length > 0) send(c.res, 'messages', c.messages.splice(0));
      if (c.dead.length > 0) send(c.res, 'dead', c.dead.splice(0));
      if (c.skipped > 0) {
        send(c.res, 'gap', { count: c.skipped });
        c.skipped = 0;
      }
    }
  }
}

/** `/api/snapshot`. */
export function webSnapshot(stream: WebStream): Promise<WebSnapshot> {
  return stream.snapshot();
}

function send(res: http.ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
