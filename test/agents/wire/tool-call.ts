// The permission case: the fake model asks to run a shell command. The tool's name and
// argument shape differ per CLI (Bash, shell, exec_command, run_shell_command, bash), so
// pick the shell-like tool the request offers and fill its schema.
import { asArray, asObject, type Reply, type ToolDecl } from './types.js';

const SHELL_NAMES = ['Bash', 'bash', 'shell', 'exec_command', 'run_shell_command', 'local_shell', 'shell_command'];

export function pickShellTool(offered: readonly ToolDecl[]): ToolDecl | undefined {
  const tools = offered.filter((t) => t.namespace === undefined); // the CLI's own, not an MCP server's
  for (const name of SHELL_NAMES) {
    const t = tools.find((d) => d.name === name);
    if (t) return t;
  }
  return tools.find((d) => /shell|bash|exec/i.test(d.name));
}

/** A call of `tool` that runs `command`, with every required argument given a plausible value. */
export function shellCall(tool: ToolDecl, command: string, id: string): Reply {
  const schema = asObject(tool.schema);
  const props = asObject(schema.properties);
  const required = asArray(schema.required).map(String);
  const args: Record<string, unknown> = {};
  const commandKey = ['command', 'cmd', 'commands'].find((k) => k in props) ?? 'command';
  // Codex runs commands in its sandbox unless the model asks to escalate, which needs approval.
  if ('sandbox_permissions' in props) {
    args.sandbox_permissions = 'require_escalated';
    args.justification = 'The fake model wants to create a marker file outside the project.';
  }
  for (const key of new Set([commandKey, ...required])) {
    if (key in args) continue;
    const type = String(asObject(props[key]).type ?? 'string');
    if (key === commandKey) args[key] = type === 'array' ? ['bash', '-lc', command] : command;
    else if (type === 'string') args[key] = key === 'description' ? 'Create a marker file (fake model)' : 'fake';
    else if (type === 'boolean') args[key] = false;
    else if (type === 'number' || type === 'integer') args[key] = 10_000;
    else if (type === 'array') args[key] = [];
    else args[key] = {};
  }
  return { kind: 'tool', id, name: tool.name, args };
}
