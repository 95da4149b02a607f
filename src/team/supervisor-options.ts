import { parseDuration } from '../bus/duration.js';
import type { Layout } from '../bus/layout.js';
import { readTeamState } from './team-state.js';
import { INTERVAL_ENV, type ResolvedSupervisorOptions, type SupervisorOptions } from './supervisor-types.js';

/** The shortest pass interval: a smaller one would only keep tmux busy. */
const MIN_INTERVAL_MS = 50;

/**
 * The supervisor's options with every default applied, once: the caller's
 * value, else the environment (`BMAD_SUPERVISOR_INTERVAL`), else the
 * topology, else the built-in default. The tmux socket falls back to the one
 * the team was brought up on.
 */
export function resolveSupervisorOptions(layout: Layout, options: SupervisorOptions, env: NodeJS.ProcessEnv = process.env): ResolvedSupervisorOptions {
  const settings = options.topology.supervisor;
  const envInterval = env[INTERVAL_ENV];
  const intervalMs = options.intervalMs ?? (envInterval ? parseDuration(envInterval, INTERVAL_ENV) : settings.health_interval_ms);
  const team = readTeamState(layout).teams[options.topology.file];
  return {
    topology: options.topology,
    socket: options.socket ?? team?.socket,
    intervalMs: Math.max(MIN_INTERVAL_MS, intervalMs),
    maxRetries: options.maxRetries ?? options.topology.resource_management.cleanup.failed_retry,
    backoffMs: options.backoffMs ?? settings.backoff_ms,
    idleTimeoutMs: options.idleTimeoutMs ?? options.topology.resource_management.cleanup.idle_timeout_ms,
    checkpointIntervalMs: options.checkpointIntervalMs ?? settings.checkpoint_interval_ms,
    scalingIntervalMs: options.scalingIntervalMs ?? options.topology.scaling_rules?.interval_ms ?? 30_000,
    restoreSettleMs: options.restoreSettleMs ?? 500,
    restoreTimeoutMs: options.restoreTimeoutMs ?? 15_000,
    healthyAfterMs: options.healthyAfterMs ?? Math.max(60_000, 10 * intervalMs),
    eventsTo: options.eventsTo ?? 'orchestrator',
    schedule: options.schedule ?? true,
    busBin: options.busBin,
    log: options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} bmad-bus supervisor: ${line}\n`)),
  };
}
