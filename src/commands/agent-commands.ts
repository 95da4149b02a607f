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

  const hooks = program
    .command('hooks')
    .description("the agent CLIs' settings for bmad-bus: the hooks that report turns and prompts (`bmad-bus hook`) and the MCP server (`bmad-bus mcp`)");
  const scoped = (command: Command): Command => command
    .option('--cli <cli>', 'only this CLI: claude, gemini, qwen or codex (default: all)')
    .option('--scope <scope>', 'project (the settings in --cwd) or user (your home)', 'project')
    .option('--cwd <dir>', 'the project directory (default: the current one)')
    .option('--agent <name>', "fix the MCP server's agent (default: $BMAD_AGENT in the CLI's environment)")
    .option('--no-mcp', 'leave the MCP server out')
    .option('--no-hooks', 'only the MCP server')
    .option('--json', 'print JSON');
  const withGlobals = (opts: Record<string, unknown>, cmd: Command) => ({ ...cmd.optsWithGlobals(), ...opts });
  scoped(hooks.command('install').description("merge bmad-bus's hooks and MCP server into each CLI's settings, keeping everything else; idempotent"))
    .option('--dry-run', 'print what would be written, write nothing')
    .addHelpText('after', `
MCP server: Claude Code .mcp.json (project) or ~/.claude.json (user), approved and its tools allowed in
.claude/settings.local.json or ~/.claude/settings.json; Codex [mcp_servers.bmad-bus] in $CODEX_HOME/config.toml
(user scope); Gemini CLI and Qwen Code mcpServers in .gemini/ or .qwen/settings.json, trusted. The global
--dir, when given, is fixed in the server's command line; else it uses $BMAD_BUS_DIR at run time.`)
    .action(async (opts, cmd: Command) => (await import('./hooks.js')).hooksChangeCommand(false, withGlobals(opts, cmd)));
  scoped(hooks.command('uninstall').description("take bmad-bus's hooks and MCP server (and only those) out of each CLI's settings"))
    .option('--dry-run', 'print what would be written, write nothing')
    .action(async (opts, cmd: Command) => (await import('./hooks.js')).hooksChangeCommand(true, withGlobals(opts, cmd)));
  scoped(hooks.command('status').description("whether each CLI's settings hold the bmad-bus hooks and register its MCP server"))
    .action(async (opts, cmd: Command) => (await import('./hooks.js')).hooksStatusCommand(withGlobals(opts, cmd)));

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
