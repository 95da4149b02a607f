import type { Command } from 'commander';

/**
 * Commands about the agent CLIs themselves: their profiles. Declarations
 * only; each action imports its implementation when it runs.
 */
export function registerAgentCommands(program: Command): void {
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
