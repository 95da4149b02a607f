import type { Command } from 'commander';
import { globals } from './context.js';

/** Commands of the supervisor (supervise). Declarations only; the action loads its implementation when it runs. */
export function registerSupervisorCommands(program: Command): void {
  program
    .command('supervise')
    .description('keep a team alive in the foreground: restarts, restore prompts, idle and resource checks, task scheduling, scaling, checkpoints')
    .option('--topology <file>', 'the team file (default: the one `up` brought up on this bus)')
    .option('--interval <duration>', 'how often to check (default: the topology\'s supervisor.health_interval, else 5s)')
    .option('--json', 'print events as NDJSON')
    .action(async (opts, cmd: Command) => (await import('./supervise.js')).superviseCommand({ ...globals(cmd), ...opts }));
}
