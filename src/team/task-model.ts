import { DependencyCycleError, UnknownTaskError, UsageError } from '../bus/errors.js';
import { show } from '../bus/names.js';

/**
 * The task records and the pure rules about them (priorities, readiness,
 * blockers, dependency cycles). The store (tasks.ts), the scheduler and the
 * views all read tasks through these functions, so the rules live once.
 */

export type Priority = 'critical' | 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

export type TaskStatus = 'pending' | 'assigned' | 'done' | 'failed' | 'cancelled';
export const TASK_STATUSES: readonly TaskStatus[] = ['pending', 'assigned', 'done', 'failed', 'cancelled'];

export interface Task {
  /** Short and unique within the bus root: `t1`, `t2`... */
  id: string;
  title: string;
  body?: string;
  priority: Priority;
  /** Only an agent of this role may take it. */
  role?: string;
  /** Only this agent may take it. */
  to?: string;
  /** Ids of the tasks that must be done (or cancelled) first. */
  after: string[];
  project?: string;
  status: TaskStatus;
  /** ISO 8601 times. */
  created: string;
  assigned?: string;
  finished?: string;
  /** When it was last put back in the queue (reports older than this are stale). */
  retried?: string;
  assignee?: string;
  result?: string;
  reason?: string;
  /** How many times it was handed to an agent. */
  attempts: number;
  /** Id of the last `task` message that assigned it. */
  message?: string;
}

/** The tasks state file: the tasks in creation order (FIFO), the id counter, round-robin positions. */
export interface TaskFile {
  version: 1;
  /** The number of the last id given out. */
  seq: number;
  tasks: Task[];
  /** Round robin: the last agent given a task, per role (`*` for tasks without a role). */
  rotation: Record<string, string>;
}

export const emptyTaskFile = (): TaskFile => ({ version: 1, seq: 0, tasks: [], rotation: {} });

/** Fills in what older or hand-edited files may lack. */
export function normalizeTaskFile(file: Partial<TaskFile> | undefined): TaskFile {
  return {
    version: 1,
    seq: typeof file?.seq === 'number' ? file.seq : 0,
    tasks: Array.isArray(file?.tasks) ? file.tasks.map((t) => ({ ...t, after: t.after ?? [], attempts: t.attempts ?? 0 })) : [],
    rotation: file?.rotation ?? {},
  };
}

export const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

export function parsePriority(text: unknown): Priority {
  if (typeof text === 'string' && (PRIORITIES as readonly string[]).includes(text.toLowerCase())) return text.toLowerCase() as Priority;
  throw new UsageError(`Expected priority critical, high, normal or low, got ${show(text)}`);
}

export function parseStatus(text: unknown): TaskStatus {
  if (typeof text === 'string' && (TASK_STATUSES as readonly string[]).includes(text.toLowerCase())) return text.toLowerCase() as TaskStatus;
  throw new UsageError(`Expected status ${TASK_STATUSES.join(', ')}, got ${show(text)}`);
}

/** Task ids are case-insensitive for people typing them: `T3` is `t3`. */
export function normalizeTaskId(id: unknown): string {
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,31}$/i.test(id.trim())) {
    throw new UnknownTaskError(`Expected a task id like t12, got ${show(id)}`);
  }
  return id.trim().toLowerCase();
}

/** Done and cancelled tasks no longer hold anyone up; a failed one does, until retried or cancelled. */
export function isResolved(status: TaskStatus): boolean {
  return status === 'done' || status === 'cancelled';
}

export function isFinished(status: TaskStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'cancelled';
}

export interface Readiness {
  /** Pending with every dependency done or cancelled. */
  ready: boolean;
  /** Dependencies not resolved yet (pending, assigned or failed). */
  waitingOn: string[];
  /** The failed ones among them: the task cannot start until they are retried or cancelled. */
  blockedBy: string[];
}

export function readinessOf(task: Task, byId: ReadonlyMap<string, Task>): Readiness {
  const waitingOn: string[] = [];
  const blockedBy: string[] = [];
  for (const dep of task.after) {
    const other = byId.get(dep);
    // A dependency missing from the file (hand-edited) cannot be done: it blocks.
    if (!other) {
      waitingOn.push(dep);
      blockedBy.push(dep);
    } else if (!isResolved(other.status)) {
      waitingOn.push(dep);
      if (other.status === 'failed') blockedBy.push(dep);
    }
  }
  return { ready: task.status === 'pending' && waitingOn.length === 0, waitingOn, blockedBy };
}

/**
 * Blockers: unresolved tasks that unfinished tasks wait on, each with the ids
 * of the tasks it holds up.
 */
export function blockersOf(tasks: readonly Task[]): Map<string, string[]> {
  const byId = indexTasks(tasks);
  const blocks = new Map<string, string[]>();
  for (const task of tasks) {
    if (isFinished(task.status)) continue;
    for (const dep of task.after) {
      const other = byId.get(dep);
      if (other && isResolved(other.status)) continue;
      const list = blocks.get(dep) ?? [];
      list.push(task.id);
      blocks.set(dep, list);
    }
  }
  return blocks;
}

export function indexTasks(tasks: readonly Task[]): Map<string, Task> {
  return new Map(tasks.map((t) => [t.id, t]));
}

/** A task with what the views need to know about it. */
export interface TaskView extends Task, Readiness {
  /** Unfinished tasks waiting on this one (non-empty: it is a blocker). */
  blocks: string[];
}

export function viewTasks(tasks: readonly Task[]): TaskView[] {
  const byId = indexTasks(tasks);
  const blockers = blockersOf(tasks);
  return tasks.map((t) => ({ ...t, ...readinessOf(t, byId), blocks: blockers.get(t.id) ?? [] }));
}

/**
 * Checks that `after` names existing tasks and adds no cycle when `id` gets
 * these dependencies. Throws UnknownTaskError or DependencyCycleError.
 */
export function checkDependencies(tasks: readonly Task[], id: string, after: readonly string[]): void {
  const byId = indexTasks(tasks);
  for (const dep of after) {
    if (dep === id) throw new DependencyCycleError(`Task ${id} cannot run after itself`);
    if (!byId.has(dep)) throw new UnknownTaskError(`Unknown dependency ${show(dep)}: no task with that id (see \`bmad-bus task list\`)`);
  }
  const edges = new Map<string, readonly string[]>(tasks.map((t) => [t.id, t.after]));
  edges.set(id, after);
  const cycle = findCycle(edges, id);
  if (cycle) throw new DependencyCycleError(`Dependency cycle: ${cycle.join(' → ')} (a task cannot wait on itself)`);
}

/** A path start → ... → start through `after` edges, if there is one. */
export function findCycle(edges: ReadonlyMap<string, readonly string[]>, start: string): string[] | undefined {
  // Iterative DFS: dependency chains written by scripts can be long.
  const seen = new Set<string>();
  const stack: Array<{ id: string; path: string[] }> = [{ id: start, path: [start] }];
  while (stack.length > 0) {
    const { id, path } = stack.pop()!;
    for (const next of edges.get(id) ?? []) {
      if (next === start) return [...path, start];
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push({ id: next, path: [...path, next] });
    }
  }
  return undefined;
}

/** Queue order: critical first, then high, normal, low; FIFO (creation order) within a priority. */
export function compareQueueOrder(a: { task: Task; index: number }, b: { task: Task; index: number }): number {
  return PRIORITY_RANK[a.task.priority] - PRIORITY_RANK[b.task.priority] || a.index - b.index;
}
