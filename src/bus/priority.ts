/**
 * Priority levels of agents (the topology's `resource_management.priorities`),
 * highest first. They live in the bus layer because the registry carries each
 * agent's level and the router serves waiting deliveries by it.
 */
export type PriorityLevel = 'highest' | 'high' | 'normal' | 'low';
export const PRIORITY_LEVELS: readonly PriorityLevel[] = ['highest', 'high', 'normal', 'low'];

/** 0 for `highest` … 3 for `low` (unset: `normal`): sorting by it puts the highest first. */
export function levelRank(level: PriorityLevel | undefined): number {
  return PRIORITY_LEVELS.indexOf(level ?? 'normal');
}
