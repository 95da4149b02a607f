import { UsageError } from '../bus/errors.js';
import { isValidName, show } from '../bus/names.js';
import { openRoot } from '../bus/root.js';
import { rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export interface McpCommandOptions extends GlobalOptions {
  agent?: string;
}

/**
 * `bmad-bus mcp [--agent NAME]`: the bus as an MCP server on stdin/stdout, for
 * the agent CLI that starts it. Runs until the CLI closes its stdin.
 */
export async function mcpCommand(options: McpCommandOptions): Promise<void> {
  const agent = options.agent ?? (process.env.BMAD_AGENT || undefined);
  if (agent === undefined) throw new UsageError('Say which agent this server is for: --agent NAME, or set $BMAD_AGENT (`bmad-bus up` sets it)');
  if (!isValidName(agent)) throw new UsageError(`Expected agent name to match [a-z0-9][a-z0-9._-]{0,63}, got ${show(agent)}`);
  const layout = openRoot(rootOf(options));
  const { serveStdio } = await import('../channels/mcp-server.js');
  const tmuxSocket = tmuxSocketOf(options);
  await serveStdio({ layout, agent, ...(tmuxSocket ? { tmuxSocket } : {}) });
}
