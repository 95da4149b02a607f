import type { Command } from 'commander';
import { DEFAULT_SENDER } from '../bus/names.js';
import { collect, globals } from './context.js';

const CHECKPOINT_DIR_HELP = 'checkpoint directory (default: $BMAD_CHECKPOINT_DIR, else $XDG_STATE_HOME/bmad-bus/checkpoints)';

/**
 * Operations on a running team: checkpoint, checkpoints, restore, exec, share,
 * knowledge, monitor. Declarations only; each action imports its
 * implementation when it runs, so CLI start-up stays fast.
 */
export function registerOpsCommands(program: Command): void {
  program
    .command('checkpoint [session]')
    .description("save the team's sessions, panes, agents and delivery positions to a checkpoint file; prints the file")
    .option('--all', 'every session on the tmux server (default: the sessions `up` made on this bus)')
    .option('--checkpoint-dir <dir>', CHECKPOINT_DIR_HELP)
    .option('--lines <n>', 'lines of each pane to keep', '50')
    .option('--json', 'print JSON')
    .action(async (session: string | undefined, opts, cmd: Command) =>
      (await import('./checkpoint.js')).checkpointCommand(session, { ...globals(cmd), ...opts }));

  program
    .command('checkpoints')
    .description('list the checkpoints, oldest first')
    .option('--checkpoint-dir <dir>', CHECKPOINT_DIR_HELP)
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => (await import('./checkpoint.js')).checkpointsCommand({ ...globals(cmd), ...opts }));

  program
    .command('restore <checkpoint>')
    .description('rebuild the sessions of a checkpoint (a file, a name in the checkpoint directory, or `latest`), re-register the agents, resume delivery')
    .option('--force', 'kill sessions of the same names first instead of refusing')
    .option('--no-router', 'do not start the router')
    .option('--no-prompt', "do not type the agents' restore prompts")
    .option('--ready-timeout <duration>', "how long to wait for an agent's program before skipping its prompt", '10s')
    .option('--checkpoint-dir <dir>', CHECKPOINT_DIR_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, opts, cmd: Command) => (await import('./checkpoint.js')).restoreCommand(name, { ...globals(cmd), ...opts }));

  program
    .command('exec')
    .description("run a command in an agent's shell pane; prints its output and exits with its exit code")
    .argument('<args...>', "AGENT -- COMMAND..., or with --parallel: 'AGENT: COMMAND' ...")
    .option('--parallel', "run several commands at once, each given as 'AGENT: COMMAND'")
    .option('--timeout <duration>', 'give up waiting after this long', '30s')
    .option('--interrupt', 'press C-c in the pane when the time is up')
    .option('--json', 'print JSON (output, exit code, duration)')
    .action(async (args: string[], opts, cmd: Command) => (await import('./exec.js')).execCommand(args, { ...globals(cmd), ...opts }));

  program
    .command('share')
    .description('record a piece of knowledge and send it to every session of the team whose tags match')
    .argument('<text...>', 'what others should know')
    .option('--tags <tags>', 'comma-separated tags (repeatable)', collect)
    .option('--project <p>', 'the project it belongs to (its sessions get it too)')
    .option('--from <name>', `who shares it (default: $BMAD_AGENT, else ${DEFAULT_SENDER})`)
    .option('--topology <file>', 'match against this topology file instead of the teams up on this bus (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(async (text: string[], opts, cmd: Command) => (await import('./share.js')).shareCommand(text, { ...globals(cmd), ...opts }));

  program
    .command('knowledge')
    .description('list the shared knowledge, oldest first')
    .option('--tag <tag>', 'only with this tag')
    .option('--project <p>', 'only of this project (and shared with every project)')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => (await import('./share.js')).knowledgeCommand({ ...globals(cmd), ...opts }));

  program
    .command('monitor')
    .description('live dashboard: agents, tasks, router rate, dead letters, events (q quits)')
    .option('--interval <duration>', 'refresh interval', '1s')
    .option('--once', 'print one frame and exit')
    .action(async (opts, cmd: Command) => (await import('./monitor.js')).monitorCommand({ ...globals(cmd), ...opts }));
}
