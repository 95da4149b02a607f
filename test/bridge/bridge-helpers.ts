// Two (or more) "machines" for the bridge tests: a bus root each, with its router and its bridge
// to one NATS, on one host (or inside network namespaces).
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Envelope } from '../../src/bus/envelope.js';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import { send } from '../../src/client/send.js';
import { journalLines } from '../../src/journal/reader.js';
import { cli, startForeground, startRouter, waitFor, type RunningRouter } from '../helpers/bus.js';

export interface Machine {
  name: string;
  /** Its agents' names, as given to machine(). */
  agents: string[];
  root: string;
  layout: Layout;
  router: RunningRouter;
  bridge: RunningRouter | undefined;
  /** Starts (again) its bridge to `url`. */
  startBridge(url: string, extra?: string[], wrap?: string[]): Promise<RunningRouter>;
  /** Every message journaled here, in journal order. */
  journal(): Envelope[];
  /** Sends as `from` (journaled here directly or through the router, as `send` does). */
  send(from: string, to: string, bodies: string[]): Promise<Envelope[]>;
  close(): Promise<void>;
}

/** A bus root in `dir` named `name`, with its router and these agents (`name` or `name:role`). */
export async function machine(dir: string, name: string, agents: string[]): Promise<Machine> {
  const root = path.join(dir, name);
  assert.equal((await cli(['init', '--dir', root])).code, 0);
  for (const spec of agents) {
    const [agent, role] = spec.split(':');
    const added = await cli(['agents', 'add', agent!, ...(role ? ['--role', role] : []), '--dir', root]);
    assert.equal(added.code, 0, added.stderr);
  }
  const layout = new Layout(root);
  const m: Machine = {
    name,
    agents: agents.map((spec) => spec.split(':')[0]!),
    root,
    layout,
    router: await startRouter(root),
    bridge: undefined,
    async startBridge(url, extra = [], wrap) {
      await m.bridge?.stop();
      m.bridge = await startForeground(['bridge', '--dir', root, '--nats', url, '--name', name, ...extra], `bridge ${name}`, { ...(wrap ? { wrap } : {}), readyMs: 30_000 });
      return m.bridge;
    },
    journal: () => [...journalLines(layout.journalDir, 0)].map((l) => JSON.parse(l.line) as Envelope),
    send: (from, to, bodies) => send(layout, bodies.map((body) => ({ from, to, body }))),
    async close() {
      await m.bridge?.stop();
      await m.router.stop();
    },
  };
  return m;
}

/** Starts both machines' bridges (to `urlB` for B when given; `wrap` runs one through `ip netns exec`) and waits until each knows the other's first agent. */
export async function bridgeBoth(a: Machine, b: Machine, urlA: string, urlB = urlA, wrap: { a?: string[]; b?: string[] } = {}): Promise<void> {
  await a.startBridge(urlA, [], wrap.a);
  await b.startBridge(urlB, [], wrap.b);
  await knows(a, b.agents[0]!, b.name);
  await knows(b, a.agents[0]!, a.name);
}

/** Waits until `m`'s registry knows `agent` as an agent of `on`. */
export function knows(m: Machine, agent: string, on: string, timeoutMs = 15_000): Promise<true> {
  return waitFor(() => readRegistry(m.layout).agents[agent]?.machine === on || undefined, timeoutMs, `${m.name} to know ${agent} on ${on}`) as Promise<true>;
}

/**
 * The oracle across buses: every id sent is journaled on the receiving side exactly once
 * (the router drops a repeat of an id), and the messages of each sender come in the order sent.
 */
export function assertArrivedOnceInOrder(received: Envelope[], sent: Envelope[], what: string): void {
  const ids = new Set(sent.map((e) => e.id));
  const got = received.filter((e) => ids.has(e.id));
  const counts = new Map<string, number>();
  for (const e of got) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  const lost = sent.filter((e) => !counts.has(e.id)).length;
  const twice = [...counts.values()].filter((n) => n > 1).length;
  assert.deepEqual({ lost, twice }, { lost: 0, twice: 0 }, `${what}: ${sent.length} sent`);
  for (const sender of new Set(sent.map((e) => e.from))) {
    assert.deepEqual(got.filter((e) => e.from === sender).map((e) => e.id), sent.filter((e) => e.from === sender).map((e) => e.id), `${what}: in order from ${sender}`);
  }
}
