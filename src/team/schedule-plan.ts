import { levelRank, type PriorityLevel } from '../bus/priority.js';
import { PRIORITY_RANK, indexTasks, readinessOf, type Task } from './task-model.js';

/**
 * The scheduling decision as a pure function of the tasks, the agents and
 * the options: no clock, no files, no bus. `runSchedulerOnce` (scheduler.ts)
 * applies it.
 */

export type SchedulingStrategy = 'round_robin' | 'least_loaded';
export const STRATEGIES: readonly SchedulingStrategy[] = ['round_robin', 'least_loaded'];

/** `alive` and `idle` agents take tasks; `dead` (being restarted) and `failed` ones do not. */
export type AgentStatus = 'alive' | 'idle' | 'dead' | 'failed';

export interface SchedulableAgent {
  name: string;
  role?: string;
  /** An agent with a project takes only that project's tasks (and tasks without one). */
  project?: string;
  status?: AgentStatus;
  /** Extra load the caller knows about (e.g. undelivered messages); added to least_loaded's count. */
  load?: number;
  /** Its level in `resource_management.priorities`: among tasks of one priority, those its agents can take are served first. Unset: normal. */
  priority?: PriorityLevel;
}

export interface ScheduleLimits {
  /** At most this many tasks assigned at once, in total (topology `max_sessions`). */
  maxSessions?: number;
  /** At most this many assigned tasks of one project at once: one number for every project, or per project. */
  maxSessionsPerProject?: number | Record<string, number>;
}

export interface PlanOptions extends ScheduleLimits {
  strategy?: SchedulingStrategy;
  /** Round robin's memory: the last agent given a task per role key (`*` for tasks without a role). */
  rotation?: Record<string, string>;
  /** The time of the plan, ms since the epoch (least_loaded's window ends here). */
  now?: number;
  /** least_loaded counts the tasks assigned to an agent within this window. Default 1 hour. */
  loadWindowMs?: number;
}

export interface Assignment {
  task: string;
  agent: string;
}

/** A ready task that stays in the queue this time, and why. */
export interface Deferral {
  task: string;
  reason: string;
}

export interface Plan {
  assignments: Assignment[];
  /** The rotation after these assignments (persist it for the next plan). */
  rotation: Record<string, string>;
  deferred: Deferral[];
}

export const DEFAULT_LOAD_WINDOW_MS = 60 * 60 * 1000;
/** The agent that hands work out never gets a task by accident: only by `to` or its role. */
const ORCHESTRATOR = 'orchestrator';

/**
 * Chooses which ready tasks go to which agents now.
 *
 * - Ready: pending, and every `after` task done or cancelled (a failed one blocks).
 * - Order: critical, high, normal, low; within a task priority, tasks that an
 *   agent of a higher level (`resource_management.priorities`) can take come
 *   first, so when agents compete for the slots `maxSessions` leaves, the
 *   higher tier is served first; then FIFO (creation order).
 *   A task nobody can take now does not hold up later tasks that others can take.
 * - Who: an alive or idle agent with no task in progress (status `assigned`), of
 *   the task's role, or exactly its `to`; a task with neither goes to any agent
 *   but `orchestrator`. A task with a project goes to agents of that project or
 *   of none.
 * - round_robin: per role, the next free agent in name order after the one
 *   that got the previous task of that role (the rotation).
 * - least_loaded: the free agent with the fewest tasks assigned to it within
 *   `loadWindowMs` (plus its `load`), then the one that waited longest, then by name.
 * - Limits: `maxSessions` caps the tasks in status `assigned` at once, in total;
 *   `maxSessionsPerProject` caps them per project (tasks without a project count
 *   only towards the total).
 *
 * @example
 * const plan = planAssignments(tasks, [{ name: 'dev-1', role: 'dev' }], { strategy: 'round_robin' });
 */
export function planAssignments(tasks: readonly Task[], agents: readonly SchedulableAgent[], options: PlanOptions = {}): Plan {
  const strategy = options.strategy ?? 'round_robin';
  const now = options.now ?? Date.now();
  const window = options.loadWindowMs ?? DEFAULT_LOAD_WINDOW_MS;
  const rotation = { ...options.rotation };
  const byId = indexTasks(tasks);

  const busy = new Set<string>();
  const perProject = new Map<string, number>();
  let total = 0;
  const recent = new Map<string, { count: number; last: number }>();
  for (const task of tasks) {
    if (task.status === 'assigned') {
      total++;
      if (task.assignee) busy.add(task.assignee);
      if (task.project) perProject.set(task.project, (perProject.get(task.project) ?? 0) + 1);
    }
    if (task.assignee && task.assigned) {
      const at = Date.parse(task.assigned);
      const entry = recent.get(task.assignee) ?? { count: 0, last: -Infinity };
      if (at > now - window) entry.count++;
      entry.last = Math.max(entry.last, at);
      recent.set(task.assignee, entry);
    }
  }

  const ordered = agents.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // The best level among the agents that could ever take the task (busy or not): a task for the orchestrator tier outranks one for support.
  // A task no agent can take counts as normal: it waits either way, and the order of the rest stays as without priorities.
  const levelOf = (task: Task): number => {
    const levels = agents.filter((a) => canTake({ ...a, status: 'alive' }, task)).map((a) => levelRank(a.priority));
    return levels.length > 0 ? Math.min(...levels) : levelRank(undefined);
  };
  const queue = tasks
    .map((task, index) => ({ task, index, level: 0 }))
    .filter(({ task }) => readinessOf(task, byId).ready)
    .map((entry) => ({ ...entry, level: levelOf(entry.task) }))
    .sort((a, b) => PRIORITY_RANK[a.task.priority] - PRIORITY_RANK[b.task.priority] || a.level - b.level || a.index - b.index);

  const assignments: Assignment[] = [];
  const deferred: Deferral[] = [];
  for (const { task } of queue) {
    if (options.maxSessions !== undefined && total >= options.maxSessions) {
      deferred.push({ task: task.id, reason: `max_sessions ${options.maxSessions} reached` });
      continue;
    }
    const projectLimit = limitFor(options.maxSessionsPerProject, task.project);
    if (task.project && projectLimit !== undefined && (perProject.get(task.project) ?? 0) >= projectLimit) {
      deferred.push({ task: task.id, reason: `max_sessions ${projectLimit} for project ${task.project} reached` });
      continue;
    }
    const free = ordered.filter((agent) => !busy.has(agent.name) && canTake(agent, task));
    if (free.length === 0) {
      deferred.push({ task: task.id, reason: `no free agent ${wanted(task)}` });
      continue;
    }
    const agent = strategy === 'least_loaded' ? leastLoaded(free, recent) : nextInRotation(free, rotation[rotationKey(task)]);
    assignments.push({ task: task.id, agent: agent.name });
    busy.add(agent.name);
    total++;
    if (task.project) perProject.set(task.project, (perProject.get(task.project) ?? 0) + 1);
    if (!task.to) rotation[rotationKey(task)] = agent.name;
    const entry = recent.get(agent.name) ?? { count: 0, last: -Infinity };
    recent.set(agent.name, { count: entry.count + 1, last: now });
  }
  return { assignments, rotation, deferred };
}

/** Whether the agent may take the task now: alive or idle, of its project (or none), and its `to`, else its role, else anyone but the orchestrator. */
export function canTake(agent: SchedulableAgent, task: Task): boolean {
  const status = agent.status ?? 'alive';
  if (status !== 'alive' && status !== 'idle') return false;
  if (task.project && agent.project && agent.project !== task.project) return false;
  if (task.to) return agent.name === task.to;
  if (task.role) return agent.role === task.role;
  return agent.name !== ORCHESTRATOR;
}

function rotationKey(task: Task): string {
  return task.role ?? '*';
}

/** The first free agent after `last` in name order, wrapping around. */
function nextInRotation(free: SchedulableAgent[], last: string | undefined): SchedulableAgent {
  if (last === undefined) return free[0]!;
  return free.find((a) => a.name > last) ?? free[0]!;
}

function leastLoaded(free: SchedulableAgent[], recent: Map<string, { count: number; last: number }>): SchedulableAgent {
  let best = free[0]!;
  let bestKey = keyOf(best, recent);
  for (const agent of free.slice(1)) {
    const key = keyOf(agent, recent);
    // `free` is in name order, so a strict comparison keeps the first name on a tie.
    if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
      best = agent;
      bestKey = key;
    }
  }
  return best;
}

function keyOf(agent: SchedulableAgent, recent: Map<string, { count: number; last: number }>): [number, number] {
  const entry = recent.get(agent.name);
  return [(entry?.count ?? 0) + (agent.load ?? 0), entry?.last ?? -Infinity];
}

function limitFor(limits: ScheduleLimits['maxSessionsPerProject'], project: string | undefined): number | undefined {
  if (limits === undefined || project === undefined) return undefined;
  return typeof limits === 'number' ? limits : limits[project];
}

function wanted(task: Task): string {
  if (task.to) return `named ${task.to}`;
  if (task.role) return `of role ${task.role}${task.project ? ` for project ${task.project}` : ''}`;
  return task.project ? `for project ${task.project}` : '(every agent is busy)';
}
