import type { Layout } from '../../src/bus/layout.js';
import { TmuxClient } from '../../src/tmux/client.js';
import type { Failure } from '../../src/team/failures.js';
import { ReplyTimes } from '../../src/team/reply-times.js';
import { FailureHandlers } from '../../src/team/supervisor-failures.js';
import { SupervisorHealth } from '../../src/team/supervisor-health.js';
import { SupervisorNetwork } from '../../src/team/supervisor-network.js';
import { SupervisorScaling } from '../../src/team/supervisor-scaling.js';
import type { SupervisorContext } from '../../src/team/supervisor-context.js';
import { resolveSupervisorOptions } from '../../src/team/supervisor-options.js';
import type { SupervisorEvent, SupervisorOptions } from '../../src/team/supervisor-types.js';
import { parseTopology } from '../../src/team/topology.js';

/** What a part under test said: its events, log lines and failures, in order. */
export interface Heard {
  events: SupervisorEvent[];
  logs: string[];
  failures: string[];
}

/**
 * A supervisor context for unit tests of the parts, without tmux: the
 * client names a socket no server listens on and is never started here
 * (plain mode: nothing runs until a command is sent); events are recorded,
 * not sent on the bus.
 */
export function testContext(layout: Layout, yaml: string, options: Partial<SupervisorOptions> = {}): { ctx: SupervisorContext; heard: Heard; close: () => void } {
  const heard: Heard = { events: [], logs: [], failures: [] };
  const topology = parseTopology(yaml, `${layout.root}/team.yaml`);
  const resolved = resolveSupervisorOptions(layout, { topology, socket: `bmad-test-none-${process.pid}`, log: (line) => heard.logs.push(line), ...options });
  const client = new TmuxClient({ socket: resolved.socket, mode: 'plain' });
  const ctx: SupervisorContext = {
    layout,
    options: resolved,
    client,
    instance: () => undefined,
    announce: async (event) => {
      heard.events.push(event);
    },
    fail: (what, error) => {
      heard.failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    },
    guard: async (what, work) => {
      try {
        await work();
      } catch (error) {
        ctx.fail(what, error);
      }
    },
    logOnce: (line) => {
      if (!heard.logs.includes(line)) heard.logs.push(line);
    },
  };
  return { ctx, heard, close: () => client.close() };
}

/** The smallest team file: one session, one agent. */
export const ONE_AGENT = `
name: unit
sessions:
  - name: unit
    windows:
      - name: w
        panes: [{ name: dev-1, role: dev }]
`;

/** The health part wired to the error table, scaling and network parts, as the Supervisor wires them. */
export function testParts(ctx: SupervisorContext): { health: SupervisorHealth; scaling: SupervisorScaling; failures: FailureHandlers; network: SupervisorNetwork } {
  const replies = new ReplyTimes();
  const onFailure = (failure: Failure): Promise<void> => failures.handle(failure);
  const network = new SupervisorNetwork(ctx, onFailure);
  const health: SupervisorHealth = new SupervisorHealth(ctx, { onFailure, network, stopScaledIdle: (name, idleMs) => scaling.stopIdle(name, idleMs) });
  const scaling: SupervisorScaling = new SupervisorScaling(ctx, health, replies);
  const failures: FailureHandlers = new FailureHandlers(ctx, {
    restart: (name, paneId, reason, alive) => health.restart(name, paneId, reason, alive),
    recoverTeam: async () => undefined,
    scaleDownOne: (except, why) => scaling.scaleDownOne(except, why),
    markDead: (name) => health.markDead(name),
  });
  return { health, scaling, failures, network };
}
