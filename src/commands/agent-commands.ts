import type { Command } from 'commander';

/**
 * Commands about the agent CLIs themselves: their hooks and profiles. Declarations
 * only; each action imports its implementation when it runs.
 */
export function registerAgentCommands(program: Command): void {
  program
    .command('hook <event> [payload]')
    .description("what an agent CLI's hooks run: records the agent's state and the prompts it submitted (receipts); always exits 0, prints nothing")
    .option('--cli <cli>', 'whose hook it is: claude, gemini, qwen or codex', 'claude')
    .option('--agent <name>', 'the agent (default: $BMAD_AGENT)')
    .action(async (event: string, payload: string | undefined, opts, cmd: Command) =>
      (await import('./hook.js')).hookCommand(event, payload, { ...cmd.optsWithGlobals(), ...opts }));

  const profiles = program
    .command('profiles')
    .description('the agent profiles: how bmad-bus types into each agent CLI and reads its screen')
    .option('--file <topology>', "include a topology file's `profiles:`")
    .option('--json', 'print JSON')
    .action(async (opts) => (await import('./profiles.js')).profilesListCommand(opts));
  profiles
    .command('list')
    .description('every profile, one line each (the default)')
    .option('--file <topology>', "include a topology file's `profiles:`")
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => (await import('./profiles.js')).profilesListCommand({ ...cmd.parent!.opts(), ...opts }));
  profiles
    .command('show <name>')
    .description('one profile in full, with its screen patterns')
    .option('--file <topology>', "include a topology file's `profiles:`")
    .option('--json', 'print JSON')
    .action(async (name: string, opts, cmd: Command) => (await import('./profiles.js')).profilesShowCommand(name, { ...cmd.parent!.opts(), ...opts }));
}
