import { Command, CommanderError } from 'commander';
import { BusError } from './bus/errors.js';
import { registerCoreCommands } from './commands/core-commands.js';
import { registerTmuxCommands } from './commands/tmux-commands.js';
import { registerTeamCommands } from './commands/team-commands.js';
import { registerSupervisorCommands } from './commands/supervisor-commands.js';
import { registerOpsCommands } from './commands/ops-commands.js';
import { registerAgentCommands } from './commands/agent-commands.js';

/**
 * The command table. Each group file declares its commands and options only;
 * every action imports its implementation when it runs, so `bmad-bus send`
 * does not pay for loading tmux, chokidar or the router.
 */
export function buildProgram(): Command {
  const program = new Command('bmad-bus')
    .description('A FIFO message bus for teams of AI coding agents in tmux')
    .version('0.1.0')
    .option('--dir <dir>', 'bus root (default: $BMAD_BUS_DIR, else /tmp/bmad-bus-<uid>)')
    .option('--tmux-socket <name>', 'tmux server socket name, as tmux -L (default: $BMAD_TMUX_SOCKET, else your normal server)')
    // Errors are one line on stderr: commander's message with the hint on the same line
    // (showHelpAfterError would print the hint as a second line).
    .configureOutput({ outputError: (text, write) => write(`bmad-bus: ${text.trim().replace(/^error: /, '')} (run with --help for usage)\n`) })
    .exitOverride();
  registerCoreCommands(program);
  registerTmuxCommands(program);
  registerTeamCommands(program);
  registerSupervisorCommands(program);
  registerOpsCommands(program);
  registerAgentCommands(program);
  for (const command of allCommands(program)) command.exitOverride();
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). One exit policy for every command. */
export async function main(argv: string[]): Promise<number> {
  // `bmad-bus tail | head`: a reader that leaves is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  // A log line that cannot be written (the daemons log into the bus root: a full disk) is skipped, never fatal.
  process.stderr.on('error', () => undefined);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command may set its own exit status (exec passes on its command's).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed help, the version or the usage error.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof BusError) {
    process.stderr.write(`bmad-bus: ${error.message}\n`);
    return error.exitCode;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // stdout closed early (`| head`) is not a failure — the stdout handler above exits 0 for it. Any
  // other EPIPE (a pipe of the bus whose reader died) is one, and must never pass for success.
  if (code && (error as Error).message) {
    process.stderr.write(`bmad-bus: ${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`bmad-bus: unexpected error\n${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}
