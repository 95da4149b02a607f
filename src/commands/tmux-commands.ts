import type { Command } from 'commander';
import { globals } from './context.js';

/** Commands of the tmux layer (up, down, capture, attach). Declarations only; actions load lazily. */
export function registerTmuxCommands(program: Command): void {
  program
    .command('up <file>')
    .description('bring a team up in tmux from a topology file (creates only what is missing), register its agents, start the router')
    .option('--dry-run', 'print the tmux commands instead of running them')
    .option('--no-router', 'do not start the router')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts, cmd: Command) => (await import('./up.js')).upCommand(file, { ...globals(cmd), ...opts }));
  program
    .command('down [file]')
    .description('kill the sessions and windows `up` made for a topology file and unregister its agents')
    .option('--all', 'every team brought up on this bus')
    .option('--json', 'print the result as JSON')
    .action(async (file: string | undefined, opts, cmd: Command) => (await import('./down.js')).downCommand(file, { ...globals(cmd), ...opts }));
  program
    .command('capture <agent>')
    .description("print an agent's pane output (capture-pane -p -J)")
    .option('-n, --lines <n>', 'how many lines from the end', '50')
    .option('--all', "every pane of the agent's session, each under a header")
    .action(async (agent: string, opts, cmd: Command) => (await import('./capture.js')).captureCommand(agent, { ...globals(cmd), ...opts }));
  program
    .command('attach <agent>')
    .description("attach to (or, inside tmux, switch to) an agent's pane")
    .action(async (agent: string, _opts, cmd: Command) => (await import('./attach.js')).attachCommand(agent, globals(cmd)));
}
