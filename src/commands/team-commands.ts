import type { Command } from 'commander';
import { collect, globals } from './context.js';
import type { TaskAddOptions, TaskListOptions, TaskScheduleOptions } from './task.js';

/**
 * Commands of the team layer (task, supervise, checkpoint, exec, share,
 * knowledge, monitor...). Each group gets its own `register…` function below;
 * declarations only — every action imports its implementation when it runs.
 */
export function registerTeamCommands(program: Command): void {
  registerTaskCommands(program);
}

const task = () => import('./task.js');

function registerTaskCommands(program: Command): void {
  const group = program
    .command('task')
    .description('the task queue: add tasks, see them, mark them done; the scheduler hands ready tasks to free agents');

  group.command('add').description('add a task; prints its id')
    .argument('<title...>', 'what to do (one line)')
    .option('--body <text>', 'details the agent gets with the task')
    .option('--priority <p>', 'critical, high, normal or low', 'normal')
    .option('--role <role>', 'only an agent of this role takes it')
    .option('--to <agent>', 'only this agent takes it')
    .option('--after <id...>', 'start only after these tasks are done (ids, repeatable)', collect)
    .option('--project <p>', 'the project it belongs to (session_limits.max_per_project)')
    .option('--json', 'print the task as JSON')
    .action(async (title: string[], opts: TaskAddOptions, cmd: Command) => (await task()).taskAdd(title.join(' '), opts, globals(cmd)));

  group.command('list', { isDefault: true }).description('the tasks: status, readiness, blockers, assignee')
    .option('--status <s>', 'pending, assigned, done, failed, cancelled, ready or blocker')
    .option('--json', 'print JSON')
    .action(async (opts: TaskListOptions, cmd: Command) => (await task()).taskList(opts, globals(cmd)));

  group.command('done').description('mark a task done').argument('<id>')
    .option('--result <text>', 'what came of it').option('--json', 'print the task as JSON')
    .action(async (id: string, opts: { result?: string; json?: boolean }, cmd: Command) => (await task()).taskDone(id, opts, globals(cmd)));

  group.command('fail').description('mark a task failed (its dependents wait until it is retried or cancelled)').argument('<id>')
    .option('--reason <text>', 'why').option('--json', 'print the task as JSON')
    .action(async (id: string, opts: { reason?: string; json?: boolean }, cmd: Command) => (await task()).taskFail(id, opts, globals(cmd)));

  group.command('cancel').description('cancel a task (tasks after it stop waiting for it)').argument('<id>')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => (await task()).taskCancel(id, opts, globals(cmd)));

  group.command('retry').description('put a failed, cancelled or stuck task back in the queue').argument('<id>')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => (await task()).taskRetry(id, opts, globals(cmd)));

  group.command('depend').description("replace a task's dependencies").argument('<id>').argument('[after...]', 'task ids it waits for (none: no dependencies)')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, after: string[], opts: { json?: boolean }, cmd: Command) => (await task()).taskDepend(id, after, opts, globals(cmd)));

  group.command('schedule').description('assign ready tasks to free agents once (the daemon does this continuously)')
    .option('--topology <file>', "take strategy and session_limits from this topology file")
    .option('--strategy <s>', 'round_robin or least_loaded (default: round_robin)')
    .option('--max-sessions <n>', 'at most this many tasks assigned at once')
    .option('--max-per-project <n>', 'at most this many assigned tasks per project')
    .option('--from <name>', 'sender of the task messages', 'scheduler')
    .option('--json', 'print JSON')
    .action(async (opts: TaskScheduleOptions, cmd: Command) => (await task()).taskSchedule(opts, globals(cmd)));
}
