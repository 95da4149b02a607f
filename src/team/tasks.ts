import { TaskStateError, UnknownTaskError, UsageError } from '../bus/errors.js';
import type { Envelope } from '../bus/envelope.js';
import type { Layout } from '../bus/layout.js';
import { assertName, show } from '../bus/names.js';
import { readStateFile, updateStateFile } from '../bus/state-file.js';
import {
  checkDependencies,
  compareQueueOrder,
  emptyTaskFile,
  normalizeTaskFile,
  normalizeTaskId,
  parsePriority,
  viewTasks,
  type Priority,
  type Task,
  type TaskFile,
  type TaskStatus,
  type TaskView,
} from './task-model.js';
import { canTake, type SchedulableAgent } from './schedule-plan.js';

/**
 * The task store: one locked JSON state file (`state/tasks.json`). Every
 * change is one read-modify-write under the file's lock, so concurrent
 * `task add` processes, the scheduler and the daemon lose nothing.
 */

export interface NewTask {
  title: string;
  body?: string;
  priority?: Priority | string;
  role?: string;
  to?: string;
  after?: string[];
  project?: string;
}

/** What a status change did: the task after it, and whether anything changed. */
export interface TaskChange {
  task: Task;
  previous: TaskStatus;
  changed: boolean;
}

const MAX_TITLE = 500;

/** Reads every task (writes are atomic renames, so no lock is needed to read). */
export function readTasks(layout: Layout): TaskFile {
  return normalizeTaskFile(readStateFile<Partial<TaskFile>>(layout.tasksFile, emptyTaskFile()));
}

/** One read-modify-write of the tasks file under its lock. */
export function updateTasks<R>(layout: Layout, change: (file: TaskFile) => { value?: TaskFile; result: R } | Promise<{ value?: TaskFile; result: R }>): Promise<R> {
  return updateStateFile<Partial<TaskFile>, R>(layout.tasksFile, emptyTaskFile(), (raw) => change(normalizeTaskFile(raw)));
}

/**
 * Adds a pending task and returns it with its new id.
 * @example
 * const task = await addTask(layout, { title: 'Write the parser', role: 'dev', priority: 'high' });
 */
export async function addTask(layout: Layout, input: NewTask): Promise<Task> {
  const title = cleanTitle(input.title);
  const priority = parsePriority(input.priority ?? 'normal');
  if (input.role !== undefined) assertName(input.role, 'role');
  if (input.to !== undefined) assertName(input.to, 'agent name');
  if (input.project !== undefined) assertName(input.project, 'project name');
  const after = [...new Set((input.after ?? []).map(normalizeTaskId))];
  return updateTasks(layout, (file) => {
    const id = `t${file.seq + 1}`;
    checkDependencies(file.tasks, id, after);
    const task: Task = {
      id,
      title,
      ...(input.body !== undefined ? { body: input.body } : {}),
      priority,
      ...(input.role !== undefined ? { role: input.role } : {}),
      ...(input.to !== undefined ? { to: input.to } : {}),
      after,
      ...(input.project !== undefined ? { project: input.project } : {}),
      status: 'pending',
      created: new Date().toISOString(),
      attempts: 0,
    };
    return { value: { ...file, seq: file.seq + 1, tasks: [...file.tasks, task] }, result: task };
  });
}

export interface ListOptions {
  /** A status, or `ready` (pending with every dependency resolved) or `blocker` (others wait on it). */
  status?: TaskStatus | 'ready' | 'blocker' | string;
}

export function listTasks(layout: Layout, options: ListOptions = {}): TaskView[] {
  const views = viewTasks(readTasks(layout).tasks);
  const status = options.status?.toLowerCase();
  if (status === undefined) return views;
  if (status === 'ready') return views.filter((t) => t.ready);
  if (status === 'blocker') return views.filter((t) => t.blocks.length > 0);
  if (!['pending', 'assigned', 'done', 'failed', 'cancelled'].includes(status)) {
    throw new UsageError(`Expected status pending, assigned, done, failed, cancelled, ready or blocker, got ${show(options.status)}`);
  }
  return views.filter((t) => t.status === status);
}

export function getTask(layout: Layout, id: string): TaskView {
  const key = normalizeTaskId(id);
  const task = viewTasks(readTasks(layout).tasks).find((t) => t.id === key);
  if (!task) throw unknownTask(key);
  return task;
}

/** Marks a task done. Done again is no change (results may be re-delivered); a cancelled task cannot be done. */
export function completeTask(layout: Layout, id: string, options: { result?: string; reportedAt?: string } = {}): Promise<TaskChange> {
  return transition(layout, id, 'done', (task) => {
    if (task.status === 'cancelled') throw new TaskStateError(`Task ${task.id} was cancelled; retry it first`);
    checkFresh(task, options.reportedAt);
    return { ...task, status: 'done', finished: now(), ...(options.result !== undefined ? { result: options.result } : {}), reason: undefined };
  });
}

/** Marks a task failed: its dependents wait until it is retried or cancelled. */
export function failTask(layout: Layout, id: string, options: { reason?: string; reportedAt?: string } = {}): Promise<TaskChange> {
  return transition(layout, id, 'failed', (task) => {
    if (task.status === 'done' || task.status === 'cancelled') {
      throw new TaskStateError(`Task ${task.id} is already ${task.status}; only a pending or assigned task can fail`);
    }
    checkFresh(task, options.reportedAt);
    return { ...task, status: 'failed', finished: now(), ...(options.reason !== undefined ? { reason: options.reason } : {}) };
  });
}

/** Cancels a task: it will not be assigned, and tasks after it no longer wait for it. */
export function cancelTask(layout: Layout, id: string, options: { reason?: string } = {}): Promise<TaskChange> {
  return transition(layout, id, 'cancelled', (task) => {
    if (task.status === 'done') throw new TaskStateError(`Task ${task.id} is already done`);
    return { ...task, status: 'cancelled', finished: now(), ...(options.reason !== undefined ? { reason: options.reason } : {}) };
  });
}

/**
 * Puts a failed, cancelled or assigned (stuck) task back in the queue, keeping
 * its place in the FIFO order. A pending task is no change; a done one is an error.
 */
export function retryTask(layout: Layout, id: string): Promise<TaskChange> {
  return transition(layout, id, 'pending', (task) => {
    if (task.status === 'done') throw new TaskStateError(`Task ${task.id} is already done`);
    const { assigned: _a, assignee: _b, finished: _c, result: _d, reason: _e, message: _f, ...rest } = task;
    return { ...rest, status: 'pending', retried: now() };
  });
}

/** Replaces a task's dependencies; refuses unknown ids and cycles. */
export async function setDependencies(layout: Layout, id: string, after: string[]): Promise<Task> {
  const key = normalizeTaskId(id);
  const deps = [...new Set(after.map(normalizeTaskId))];
  return updateTasks(layout, (file) => {
    const index = file.tasks.findIndex((t) => t.id === key);
    if (index < 0) throw unknownTask(key);
    checkDependencies(file.tasks, key, deps);
    const task = { ...file.tasks[index]!, after: deps };
    const tasks = file.tasks.slice();
    tasks[index] = task;
    return { value: { ...file, tasks }, result: task };
  });
}

/**
 * An agent takes a task itself (the MCP server's `task_claim`): the one named,
 * or else the first ready task in queue order that it may take, by the
 * scheduler's rule (its name, its role, its project). The task becomes
 * assigned to it, as if the scheduler had given it. Claiming a task already
 * assigned to the claimer changes nothing; undefined when no task is left to take.
 */
export async function claimTask(layout: Layout, agent: SchedulableAgent, id?: string): Promise<TaskChange | undefined> {
  const key = id === undefined ? undefined : normalizeTaskId(id);
  return updateTasks<TaskChange | undefined>(layout, (file) => {
    const views = viewTasks(file.tasks);
    let index: number;
    if (key !== undefined) {
      index = file.tasks.findIndex((t) => t.id === key);
      if (index < 0) throw unknownTask(key);
      const view = views[index]!;
      if (view.status === 'assigned' && view.assignee === agent.name) return { result: { task: file.tasks[index]!, previous: 'assigned', changed: false } };
      if (view.status === 'assigned') throw new TaskStateError(`Task ${key} is already assigned to ${view.assignee ?? 'another agent'}`);
      if (view.status !== 'pending') throw new TaskStateError(`Task ${key} is ${view.status}; only a pending task can be claimed`);
      if (!view.ready) throw new TaskStateError(`Task ${key} waits on ${view.waitingOn.join(', ')}`);
      if (!canTake(agent, view)) throw new TaskStateError(`Task ${key} is not for ${agent.name} (${view.to ? `it is for ${view.to}` : view.role ? `it needs role ${view.role}` : `it is for project ${view.project ?? '?'}`})`);
    } else {
      const order = views.map((task, i) => ({ task, index: i })).filter(({ task }) => task.ready && canTake(agent, task)).sort(compareQueueOrder);
      if (order.length === 0) return { result: undefined };
      index = order[0]!.index;
    }
    const { message: _previousMessage, ...task } = file.tasks[index]!;
    const claimed: Task = { ...task, status: 'assigned', assignee: agent.name, assigned: now(), attempts: task.attempts + 1 };
    const tasks = file.tasks.slice();
    tasks[index] = claimed;
    return { value: { ...file, tasks }, result: { task: claimed, previous: task.status, changed: true } };
  });
}

/** What `completeFromResultMessage` did with one envelope. */
export interface ResultOutcome extends Partial<TaskChange> {
  /** The task id the message named. */
  id: string;
  /** Why nothing changed, when nothing did (unknown task, cancelled...). */
  ignored?: string;
}

/**
 * Lets agents report without the CLI: a message of type `result` whose body
 * has `task: ID` marks the task done, or failed when `body.ok === false` or
 * `body.error` is set. Returns undefined for any other message (cheaply, with
 * no lock), so the daemon can call it for every journaled message. Never
 * throws for a bad report: a re-delivered, stale (older than the task's
 * current attempt), late or unknown one is `ignored`.
 */
export async function completeFromResultMessage(layout: Layout, envelope: Envelope): Promise<ResultOutcome | undefined> {
  if (envelope.type !== 'result') return undefined;
  const body = envelope.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  if (typeof fields.task !== 'string') return undefined;
  let id: string;
  try {
    id = normalizeTaskId(fields.task);
  } catch (error) {
    if (!(error instanceof UnknownTaskError)) throw error;
    return { id: fields.task, ignored: 'not a task id' };
  }
  const reportedAt = envelope.ts;
  const failed = fields.ok === false || (fields.error !== undefined && fields.error !== null && fields.error !== false);
  try {
    const change = failed
      ? await failTask(layout, id, { reason: text(fields.error) ?? text(fields.reason) ?? `reported failed by ${envelope.from}`, reportedAt })
      : await completeTask(layout, id, { result: text(fields.result) ?? text(fields.summary) ?? `reported done by ${envelope.from}`, reportedAt });
    return { id, ...change };
  } catch (error) {
    if (error instanceof UnknownTaskError || error instanceof TaskStateError) return { id, ignored: error.message };
    throw error;
  }
}

async function transition(layout: Layout, id: string, target: TaskStatus, change: (task: Task) => Task): Promise<TaskChange> {
  const key = normalizeTaskId(id);
  return updateTasks<TaskChange>(layout, (file) => {
    const index = file.tasks.findIndex((t) => t.id === key);
    if (index < 0) throw unknownTask(key);
    const task = file.tasks[index]!;
    const changed = change(task);
    // Already there: no write, so a repeated `done` keeps its first time and result.
    if (task.status === target) return { result: { task, previous: task.status, changed: false } };
    const tasks = file.tasks.slice();
    tasks[index] = dropUndefined(changed);
    return { value: { ...file, tasks }, result: { task: tasks[index]!, previous: task.status, changed: true } };
  });
}

/**
 * A report made before the task was last assigned or retried is about an
 * earlier attempt (a journal replayed after a restart re-reads old results):
 * it must not undo the retry.
 */
function checkFresh(task: Task, reportedAt: string | undefined): void {
  if (reportedAt === undefined) return;
  const at = Date.parse(reportedAt);
  const since = Math.max(Date.parse(task.assigned ?? '') || -Infinity, Date.parse(task.retried ?? '') || -Infinity);
  if (at < since) throw new TaskStateError(`Stale report for task ${task.id}: made at ${reportedAt}, before its current attempt began`);
}

function unknownTask(id: string): UnknownTaskError {
  return new UnknownTaskError(`No task ${show(id)} (see \`bmad-bus task list\`)`);
}

function cleanTitle(title: unknown): string {
  if (typeof title !== 'string' || title.trim() === '') throw new UsageError('A task needs a title');
  // One line: the title is shown in tables, the monitor and pasted messages.
  const line = title.replace(/\s+/g, ' ').trim();
  if (line.length > MAX_TITLE) throw new UsageError(`A task title is at most ${MAX_TITLE} characters (use --body for details), got ${line.length}`);
  return line;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null || value === true || value === false) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function dropUndefined<T extends object>(value: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const now = (): string => new Date().toISOString();
