import { UsageError } from '../bus/errors.js';
import { show } from '../bus/names.js';
import { openOrInitRoot, openRoot } from '../bus/root.js';
import { parseStrategy, runSchedulerOnce, scheduleOptionsFromTopology, type RunSchedulerOptions } from '../team/scheduler.js';
import {
  addTask,
  cancelTask,
  completeTask,
  failTask,
  getTask,
  listTasks,
  retryTask,
  setDependencies,
  type TaskChange,
} from '../team/tasks.js';
import { printJson, printLine, rootOf, useColor, type GlobalOptions } from './context.js';
import { formatTaskTable } from './task-table.js';

export interface TaskAddOptions {
  body?: string;
  priority?: string;
  role?: string;
  to?: string;
  after?: string[];
  project?: string;
  json?: boolean;
}

export async function taskAdd(title: string, options: TaskAddOptions, global: GlobalOptions): Promise<void> {
  const layout = openOrInitRoot(rootOf(global));
  const task = await addTask(layout, {
    title,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    ...(options.role !== undefined ? { role: options.role } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    ...(options.project !== undefined ? { project: options.project } : {}),
    after: splitIds(options.after ?? []),
  });
  if (options.json) printJson(task);
  else printLine(task.id);
}

export interface TaskListOptions {
  status?: string;
  json?: boolean;
}

export async function taskList(options: TaskListOptions, global: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(global));
  const tasks = listTasks(layout, options.status !== undefined ? { status: options.status } : {});
  if (options.json) {
    printJson(tasks);
    return;
  }
  if (tasks.length === 0) {
    printLine(options.status ? `no ${options.status} tasks` : 'no tasks (add one with `bmad-bus task add TITLE`)');
    return;
  }
  const width = process.stdout.isTTY ? process.stdout.columns : undefined;
  for (const line of formatTaskTable(tasks, { color: useColor(), ...(width ? { width } : {}) })) printLine(line);
}

export async function taskDone(id: string, options: { result?: string; json?: boolean }, global: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(global));
  report(await completeTask(layout, id, options.result !== undefined ? { result: options.result } : {}), options.json);
}

export async function taskFail(id: string, options: { reason?: string; json?: boolean }, global: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(global));
  report(await failTask(layout, id, options.reason !== undefined ? { reason: options.reason } : {}), options.json);
}

export async function taskCancel(id: string, options: { json?: boolean }, global: GlobalOptions): Promise<void> {
  report(await cancelTask(openRoot(rootOf(global)), id), options.json);
}

export async function taskRetry(id: string, options: { json?: boolean }, global: GlobalOptions): Promise<void> {
  report(await retryTask(openRoot(rootOf(global)), id), options.json);
}

export async function taskDepend(id: string, after: string[], options: { json?: boolean }, global: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(global));
  const task = await setDependencies(layout, id, splitIds(after));
  if (options.json) printJson(getTask(layout, task.id));
  else printLine(task.after.length > 0 ? `${task.id} runs after ${task.after.join(', ')}` : `${task.id} has no dependencies`);
}

export interface TaskScheduleOptions {
  topology?: string;
  strategy?: string;
  maxSessions?: string;
  maxPerProject?: string;
  from?: string;
  json?: boolean;
}

export async function taskSchedule(options: TaskScheduleOptions, global: GlobalOptions): Promise<void> {
  const layout = openRoot(rootOf(global));
  // The topology gives the defaults; flags given on the command line win.
  let base: RunSchedulerOptions = {};
  if (options.topology !== undefined) {
    const { loadTopology } = await import('../team/topology.js');
    base = scheduleOptionsFromTopology(loadTopology(options.topology));
  }
  const outcome = await runSchedulerOnce(layout, {
    ...base,
    ...(options.strategy !== undefined ? { strategy: parseStrategy(options.strategy) } : {}),
    ...(options.maxSessions !== undefined ? { maxSessions: count(options.maxSessions, '--max-sessions') } : {}),
    ...(options.maxPerProject !== undefined ? { maxSessionsPerProject: count(options.maxPerProject, '--max-per-project') } : {}),
    ...(options.from !== undefined ? { from: options.from } : {}),
  });
  if (options.json) {
    printJson(outcome);
    return;
  }
  for (const { task, agent } of outcome.assignments) printLine(`${task.id} → ${agent}  [${task.priority}] ${task.title}`);
  if (outcome.assignments.length === 0) printLine('nothing assigned');
  for (const { task, reason } of outcome.deferred) printLine(`${task} waits: ${reason}`);
}

function report(change: TaskChange, json: boolean | undefined): void {
  if (json) printJson(change.task);
  else printLine(change.changed ? `${change.task.id} ${change.task.status} (was ${change.previous})` : `${change.task.id} already ${change.task.status}`);
}

/** `--after t1,t2 t3` and `--after t1 --after t2` mean the same. */
function splitIds(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function count(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`Expected ${what} to be a whole number, got ${show(text)}`);
  return n;
}
