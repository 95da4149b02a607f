import type { Topology } from './topology-types.js';

/**
 * What the supervisor says on the bus: every one is a message of type `event`
 * from `supervisor` to the orchestrator, with one of these as its body, so
 * `bmad-bus tail --type event` shows what it did and why.
 */
export type SupervisorEvent =
  /** A dead, missing or exited agent is being started again in its pane (attempt n of max_retries). */
  | { event: 'restart'; agent: string; attempt: number; max_retries: number; reason: string; pane: string }
  /** It kept dying: no more restarts; role addressing and the scheduler skip it. */
  | { event: 'failed'; agent: string; restarts: number; reason: string }
  /** The tmux server died: the team was rebuilt once, from its latest checkpoint or else its topology, the way `restore` does it. */
  | { event: 'team_recovered'; source: 'checkpoint' | 'topology'; checkpoint?: string; agents: string[]; reason: string; /** About the team, not one agent. */ agent?: undefined }
  /** A dead or failed agent is alive again (someone restarted it by hand, or it came back). */
  | { event: 'recovered'; agent: string }
  /** Its pane showed no change for idle_timeout. */
  | { event: 'idle'; agent: string; idle_ms: number }
  /** An idle agent's pane changed again. */
  | { event: 'active'; agent: string }
  /** Its process tree is over resource_limits.per_session. */
  | { event: 'resource_limit'; agent: string; kind: 'memory' | 'cpu'; value: number; limit: number; action: 'warn' | 'restart' }
  /** Scaling started one more agent of a type from its template. */
  | { event: 'scale_up'; agent: string; type: string; metric: string; value: number; threshold: number; pane: string }
  /** Scaling stopped an agent it had started (never one holding a task). */
  | { event: 'scale_down'; agent: string; type: string; metric: string; value: number; threshold: number };

export type SupervisorEventName = SupervisorEvent['event'];

/** A one-line text per event, for logs and the foreground `supervise`; keyed by tag so a new event needs its line. */
export const DESCRIBE_EVENT: { [K in SupervisorEventName]: (e: Extract<SupervisorEvent, { event: K }>) => string } = {
  restart: (e) => `restarting ${e.agent} (${e.reason}; attempt ${e.attempt}/${e.max_retries}, pane ${e.pane})`,
  failed: (e) => `${e.agent} failed after ${e.restarts} restarts (${e.reason})`,
  team_recovered: (e) => `team rebuilt from its ${e.source === 'checkpoint' ? `checkpoint ${e.checkpoint}` : 'topology'} (${e.reason}): ${e.agents.join(', ') || 'no agents'}`,
  recovered: (e) => `${e.agent} is alive again`,
  idle: (e) => `${e.agent} is idle (no output for ${Math.round(e.idle_ms / 1000)}s)`,
  active: (e) => `${e.agent} is active again`,
  resource_limit: (e) =>
    `${e.agent} over its ${e.kind} limit (${e.kind === 'cpu' ? `${e.value.toFixed(0)}% > ${e.limit}%` : `${e.value} > ${e.limit} bytes`}; action ${e.action})`,
  scale_up: (e) => `scaled up: started ${e.agent} (${e.type}; ${e.metric} ${e.value} > ${e.threshold})`,
  scale_down: (e) => `scaled down: stopped ${e.agent} (${e.type}; ${e.metric} ${e.value} vs ${e.threshold})`,
};

export function describeEvent(event: SupervisorEvent): string {
  return (DESCRIBE_EVENT[event.event] as (e: SupervisorEvent) => string)(event);
}

/** The supervisor's view of one agent, as the registry's `status` field holds it. */
export type AgentHealth = 'running' | 'idle' | 'dead' | 'failed' | 'restarting';

export interface SupervisorOptions {
  topology: Topology;
  /** tmux `-L` socket of the team when neither the agent's record nor the team state names one. */
  socket?: string | undefined;
  /** Overrides the topology's supervisor.* values (tests shorten them). */
  intervalMs?: number | undefined;
  maxRetries?: number | undefined;
  backoffMs?: number | undefined;
  idleTimeoutMs?: number | undefined;
  checkpointIntervalMs?: number | undefined;
  scalingIntervalMs?: number | undefined;
  /** After a restart: the pane must show no change this long before the restore prompt is pasted. Default 500 ms. */
  restoreSettleMs?: number | undefined;
  /** ...but never wait longer than this for the agent to settle. Default 15 s. */
  restoreTimeoutMs?: number | undefined;
  /** An agent alive this long after a restart has its retry count reset. Default max(60 s, 10 intervals). */
  healthyAfterMs?: number | undefined;
  /** Who gets the events. Default `orchestrator`. */
  eventsTo?: string | undefined;
  /** Run the task scheduler every interval. Default true. */
  schedule?: boolean | undefined;
  /** The bmad-bus executable, exported to restarted and scaled panes as BMAD_BUS_BIN. */
  busBin?: string | undefined;
  log?: ((line: string) => void) | undefined;
}

/** The options with every default applied (the constructor does this once). */
export interface ResolvedSupervisorOptions {
  topology: Topology;
  socket: string | undefined;
  intervalMs: number;
  maxRetries: number;
  backoffMs: number;
  idleTimeoutMs: number;
  checkpointIntervalMs: number;
  scalingIntervalMs: number;
  restoreSettleMs: number;
  restoreTimeoutMs: number;
  healthyAfterMs: number;
  eventsTo: string;
  schedule: boolean;
  busBin: string | undefined;
  log: (line: string) => void;
}

export interface SupervisorEvents {
  /** Every event, also sent on the bus. */
  event: [event: SupervisorEvent];
  /** One pass of the loop finished (tests wait on it). */
  tick: [count: number];
  /** Something went wrong in a pass; the loop goes on. */
  error: [error: Error];
  closed: [];
}

/** Environment overrides, read once with the options: `BMAD_SUPERVISOR_INTERVAL` (a duration). */
export const INTERVAL_ENV = 'BMAD_SUPERVISOR_INTERVAL';
