import type { FailureKind, HandlerName, PriorityLevel } from './resource-types.js';
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
  | { event: 'scale_down'; agent: string; type: string; metric: string; value: number; threshold: number }
  /** A failure of one of the error table's classes was seen, and this handler takes it (error_handling). */
  | { event: 'failure'; kind: FailureKind; handler: HandlerName; detail: string; /** Unset for the whole team or the bus. */ agent?: string | undefined }
  /** out_of_memory: no scaled agent could be stopped to make room. */
  | { event: 'nothing_to_scale_down'; agent: string; reason: string }
  /** permission_denied: one of the bus's own files got its mode back. */
  | { event: 'permissions_fixed'; path: string; was: string; now: string; agent?: undefined }
  /** permission_denied: a file that is not safely ours is left alone, and reported. */
  | { event: 'permissions_refused'; path: string; reason: string; agent?: undefined }
  /** network_error: the continue prompt will be typed at `at` (attempt n of attempts); a rate-limit screen naming its reset waits for it. */
  | { event: 'network_retry'; agent: string; attempt: number; attempts: number; wait_ms: number; at: string; reset: boolean }
  /** network_error: the continue prompt was typed. */
  | { event: 'network_continue'; agent: string; attempt: number; confirmed: boolean }
  /** network_error: the error screen is gone. */
  | { event: 'network_recovered'; agent: string; attempts: number }
  /** network_error: still failing after every attempt; nothing more is typed until the screen changes. */
  | { event: 'network_gave_up'; agent: string; attempts: number }
  /** session_limits: an agent was not created (scaling, restore, a team rebuild), or `up` was refused. */
  | { event: 'limit_refused'; what: 'scale_up' | 'restore' | 'recover'; limit: 'max_total' | 'max_per_project'; count: number; max: number; project?: string | undefined; agent?: string | undefined }
  /** cleanup.action stop: a topology agent idle for idle_timeout was stopped (its processes ended; it is not restarted). */
  | { event: 'stopped'; agent: string; idle_ms: number }
  /** priorities: the agent's process tree got the nice value of its level. */
  | { event: 'priority'; agent: string; level: PriorityLevel; nice: number; processes: number };

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
  failure: (e) => `${e.kind}${e.agent ? ` of ${e.agent}` : ''}: ${e.detail} (handler ${e.handler})`,
  nothing_to_scale_down: (e) => `nothing to scale down for ${e.agent}: ${e.reason}`,
  permissions_fixed: (e) => `fixed the mode of ${e.path}: ${e.was} → ${e.now}`,
  permissions_refused: (e) => `left ${e.path} alone: ${e.reason}`,
  network_retry: (e) => `${e.agent}: continue prompt ${e.attempt}/${e.attempts} at ${e.at} (${e.reset ? 'the reset time its screen names' : `in ${Math.round(e.wait_ms / 1000)}s`})`,
  network_continue: (e) => `${e.agent}: typed the continue prompt (attempt ${e.attempt}${e.confirmed ? '' : ', unconfirmed'})`,
  network_recovered: (e) => `${e.agent}: the network error is gone (after ${e.attempts} continue prompts)`,
  network_gave_up: (e) => `${e.agent}: still a network error after ${e.attempts} continue prompts; giving up until its screen changes`,
  limit_refused: (e) =>
    `${e.what === 'scale_up' ? 'no scale-up' : e.what === 'restore' ? 'restore refused' : 'rebuild refused'}${e.agent ? ` of ${e.agent}` : ''}: ${e.limit} ${e.max}${e.project ? ` for project ${e.project}` : ''} reached (${e.count})`,
  stopped: (e) => `stopped ${e.agent}: idle for ${Math.round(e.idle_ms / 1000)}s (cleanup.action stop)`,
  priority: (e) => `${e.agent}: priority ${e.level}, nice ${e.nice} on ${e.processes} processes`,
};

export function describeEvent(event: SupervisorEvent): string {
  return (DESCRIBE_EVENT[event.event] as (e: SupervisorEvent) => string)(event);
}

/** The supervisor's view of one agent, as the registry's `status` field holds it. */
export type AgentHealth = 'running' | 'idle' | 'dead' | 'failed' | 'restarting' | 'stopped';

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
