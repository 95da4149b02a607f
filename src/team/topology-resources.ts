import { NAME_PATTERN } from '../bus/names.js';
import type { TopologyReader, Path } from './topology-reader.js';
import {
  DEFAULT_HANDLERS, DEFAULT_NETWORK_RETRY, FAILURE_KINDS, HANDLERS_FOR, PRIORITY_LEVELS, TIER_ALIASES,
  type ErrorHandling, type FailureKind, type HandlerFor, type PerSessionLimits, type PriorityLevel, type ResourceManagement,
} from './resource-types.js';
import { SESSION_TIERS } from './topology-types.js';

/**
 * Reads `resource_management:` and `error_handling:` and folds the older
 * fields into them, so the rest of bmad-bus reads one model:
 * `max_sessions` → `session_limits`, `supervisor.max_retries` →
 * `cleanup.failed_retry`, `supervisor.idle_timeout` → `cleanup.idle_timeout`,
 * `resource_limits.per_session` → `resource_management.per_session`. A value
 * given under both names is an error: the file would say two things.
 */

const RM = 'resource_management';

/** One value under its new path or its old one (never both); undefined when neither is written. */
function either<T>(r: TopologyReader, now: Path, old: Path, read: (p: Path) => T | undefined): T | undefined {
  if (r.has(now) && r.has(old)) r.fail(old, `is also set as \`${now.join('.')}\`: give only one of them (\`${old.join('.')}\` is the older name)`);
  return r.has(now) ? read(now) : read(old);
}

/** `known`: the tiers, roles and types of the topology's agents and templates, which priorities may name. */
export function readResourceManagement(r: TopologyReader, known: ReadonlySet<string>): ResourceManagement {
  r.object([RM], ['session_limits', 'cleanup', 'priorities', 'per_session'], true);
  r.object([RM, 'session_limits'], ['max_per_project', 'max_total'], true);
  r.object([RM, 'cleanup'], ['idle_timeout', 'failed_retry', 'action'], true);
  // max_sessions: a number (the total) or { total, per_project }.
  const oldTotal: Path = typeof r.get(['max_sessions']) === 'number' ? ['max_sessions'] : ['max_sessions', 'total'];
  if (typeof r.get(['max_sessions']) !== 'number') r.object(['max_sessions'], ['total', 'per_project'], true);
  const maxTotal = either(r, [RM, 'session_limits', 'max_total'], oldTotal, (p) => r.integer(p, 1));
  const maxPerProject = either(r, [RM, 'session_limits', 'max_per_project'], ['max_sessions', 'per_project'], (p) => r.integer(p, 1));
  if (maxTotal !== undefined && maxPerProject !== undefined && maxPerProject > maxTotal) {
    r.fail([RM, 'session_limits', 'max_per_project'], `is ${maxPerProject}, more than max_total ${maxTotal}`);
  }
  const idle = either(r, [RM, 'cleanup', 'idle_timeout'], ['supervisor', 'idle_timeout'], (p) => r.duration(p));
  const retries = either(r, [RM, 'cleanup', 'failed_retry'], ['supervisor', 'max_retries'], (p) => r.integer(p, 0));
  const per = readPerSession(r);
  return {
    session_limits: { ...(maxTotal !== undefined ? { max_total: maxTotal } : {}), ...(maxPerProject !== undefined ? { max_per_project: maxPerProject } : {}) },
    cleanup: {
      idle_timeout_ms: idle ?? 30 * 60_000,
      failed_retry: retries ?? 3,
      action: r.oneOf([RM, 'cleanup', 'action'], ['idle', 'stop'] as const) ?? 'idle',
    },
    priorities: readPriorities(r, known),
    ...(per ? { per_session: per } : {}),
  };
}

function readPerSession(r: TopologyReader): PerSessionLimits | undefined {
  r.object(['resource_limits'], ['per_session'], true);
  const now: Path = [RM, 'per_session'];
  const old: Path = ['resource_limits', 'per_session'];
  if (r.has(now) && r.has(old)) r.fail(old, `is also set as \`${now.join('.')}\`: give only one of them (\`resource_limits\` is the older name)`);
  const p = r.has(now) ? now : old;
  if (!r.object(p, ['memory', 'cpu_percent', 'action'], true)) return undefined;
  const memory = r.size([...p, 'memory']);
  const cpu = r.number([...p, 'cpu_percent'], 0, 100_000);
  return {
    ...(memory !== undefined ? { memory_bytes: memory } : {}),
    ...(cpu !== undefined ? { cpu_percent: cpu } : {}),
    action: r.oneOf([...p, 'action'], ['warn', 'restart'] as const) ?? 'warn',
  };
}

function readPriorities(r: TopologyReader, known: ReadonlySet<string>): Record<string, PriorityLevel> {
  const out: Record<string, PriorityLevel> = {};
  for (const key of Object.keys(r.map([RM, 'priorities']))) {
    const p: Path = [RM, 'priorities', key];
    if (!NAME_PATTERN.test(key)) r.fail(p, 'expected a tier, role or agent type');
    const level = r.oneOf(p, PRIORITY_LEVELS) ?? r.fail(p, `expected one of ${PRIORITY_LEVELS.join(', ')}`);
    const name = TIER_ALIASES[key] ?? key;
    if (!known.has(name)) {
      r.fail(p, `names no tier (${SESSION_TIERS.join(', ')}), role or agent type of this topology`);
    }
    out[name] = level;
  }
  return out;
}

/**
 * `error_handling:` — a handler per failure class, and the backoff of
 * `retry_with_backoff`. `resource_limits.per_session.action: warn` written
 * without `error_handling.out_of_memory` keeps its old meaning for memory:
 * report only.
 */
export function readErrorHandling(r: TopologyReader, perSession: PerSessionLimits | undefined): ErrorHandling {
  const E = 'error_handling';
  r.object([E], [...FAILURE_KINDS, 'network_retry'], true);
  const handler = <K extends FailureKind>(kind: K): HandlerFor<K> =>
    (r.oneOf([E, kind], HANDLERS_FOR[kind] as readonly string[]) as HandlerFor<K> | undefined) ?? DEFAULT_HANDLERS[kind];
  const oldWarn = perSession?.action === 'warn' && perSession.memory_bytes !== undefined && hasExplicitAction(r);
  r.object([E, 'network_retry'], ['first', 'max', 'attempts'], true);
  const retry = {
    first_ms: r.duration([E, 'network_retry', 'first']) ?? DEFAULT_NETWORK_RETRY.first_ms,
    max_ms: r.duration([E, 'network_retry', 'max']) ?? DEFAULT_NETWORK_RETRY.max_ms,
    attempts: r.integer([E, 'network_retry', 'attempts'], 1) ?? DEFAULT_NETWORK_RETRY.attempts,
  };
  if (retry.max_ms < retry.first_ms) r.fail([E, 'network_retry', 'max'], `is shorter than \`first\` (${retry.first_ms} ms)`);
  return {
    session_died: handler('session_died'),
    out_of_memory: r.has([E, 'out_of_memory']) || !oldWarn ? handler('out_of_memory') : 'report',
    permission_denied: handler('permission_denied'),
    network_error: handler('network_error'),
    network_retry: retry,
  };
}

function hasExplicitAction(r: TopologyReader): boolean {
  return r.has([RM, 'per_session', 'action']) || r.has(['resource_limits', 'per_session', 'action']);
}
