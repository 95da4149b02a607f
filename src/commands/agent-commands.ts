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

  program
    .command('mcp')
    .description("serve the bus to an agent CLI as a Model Context Protocol server on stdin/stdout (tools: send_message, read_inbox, ack, list_agents, bus_status, task_*, share_knowledge, search_knowledge); `hooks install` registers it")
    .option('--agent <name>', 'the agent it acts for: the sender of its messages, whose inbox it reads (default: $BMAD_AGENT)')
    .addHelpText('after', `
The agent CLI starts it and talks to it over stdio; nothing else may write to its stdout.
It works with or without a running router, as \`send\` and \`read\` do. read_inbox reads from the
agent's read position (state/read/<agent>.json, shared with \`bmad-bus read\`), which moves only
when messages are acknowledged: a crash between a read and its ack delivers them again.

Register it in Claude Code, Codex and Gemini CLI with \`bmad-bus hooks install\`, or by hand, e.g. .mcp.json:
  {"mcpServers": {"bmad-bus": {"command": "bmad-bus", "args": ["mcp"], "env": {"BMAD_AGENT": "dev-1"}}}}`)
    .action(async (opts, cmd: Command) => (await import('./mcp.js')).mcpCommand({ ...cmd.optsWithGlobals(), ...opts }));

  const hooks = program.command('hooks').description("the agent CLIs' hook settings that report turns and prompts to bmad-bus (`bmad-bus hook`)");
  const scoped = (command: Command): Command => command
    .option('--cli <cli>', 'only this CLI: claude, gemini, qwen or codex (default: all)')
    .option('--scope <scope>', 'project (the settings in --cwd) or user (your home)', 'project')
    .option('--cwd <dir>', 'the project directory (default: the current one)')
    .option('--json', 'print JSON');
  scoped(hooks.command('install').description("merge bmad-bus's hooks into each CLI's settings, keeping everything else; idempotent"))
    .option('--dry-run', 'print what would be written, write nothing')
    .action(async (opts) => (await import('./hooks.js')).hooksChangeCommand(false, opts));
  scoped(hooks.command('uninstall').description("take bmad-bus's hooks (and only those) out of each CLI's settings"))
    .option('--dry-run', 'print what would be written, write nothing')
    .action(async (opts) => (await import('./hooks.js')).hooksChangeCommand(true, opts));
  scoped(hooks.command('status').description("whether each CLI's settings hold the bmad-bus hooks"))
    .action(async (opts) => (await import('./hooks.js')).hooksStatusCommand(opts));

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
