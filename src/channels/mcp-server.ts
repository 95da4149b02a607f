import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Layout } from '../bus/layout.js';
import { assertName } from '../bus/names.js';
import { readRegistry } from '../bus/registry.js';
import { AckInbox } from './mcp-inbox.js';
import { listAgents, READ_MAX, registerBusTools } from './mcp-tools.js';

/** The name the server registers under in each CLI's config: Claude Code calls its tools `mcp__bmad-bus__<tool>`. */
export const MCP_SERVER_NAME = 'bmad-bus';
export const INBOX_URI = 'bus://inbox';
export const AGENTS_URI = 'bus://agents';

export interface BusMcpServerOptions {
  layout: Layout;
  /** Who the tools act as: `from` of what it sends, whose inbox it reads. */
  agent: string;
  version?: string;
  /** The tmux server of the team's panes (`--tmux-socket`, `$BMAD_TMUX_SOCKET`); agent states are read from them. */
  tmuxSocket?: string;
  /** Where to say what went wrong outside a tool call (default: stderr; stdout is the protocol's). */
  log?: (line: string) => void;
}

/** A bus MCP server, not yet connected; `connect` it to a transport. */
export interface BusMcpServer {
  server: McpServer;
  inbox: AckInbox;
  close(): Promise<void>;
}

/**
 * The bus as a Model Context Protocol server for one agent: tools to send,
 * read and acknowledge messages, see the agents and the bus, take and report
 * tasks, share and search knowledge; resources `bus://inbox` and
 * `bus://agents`, whose subscribers are told when the agent gets a message or
 * the registry changes. It uses the same send and read as the CLI, so it works
 * with or without a running router.
 *
 * @example
 * const { server } = createBusMcpServer({ layout, agent: 'dev-1' });
 * await server.connect(new StdioServerTransport());
 */
export function createBusMcpServer(options: BusMcpServerOptions): BusMcpServer {
  const { layout } = options;
  const agent = assertName(options.agent);
  const log = options.log ?? ((line: string) => process.stderr.write(`bmad-bus mcp: ${line}\n`));
  const inbox = new AckInbox(layout, agent);
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: options.version ?? '0.1.0' },
    {
      capabilities: { resources: { subscribe: true } },
      instructions:
        `You are ${agent} on bmad-bus, the message bus of your team of agents. ` +
        'Use send_message to talk to other agents (list_agents shows who is there) and read_inbox to get your messages; ' +
        'acknowledge each message (ack, or read_inbox with ack: true) once you have dealt with it, or it comes again. ' +
        'task_claim / task_done / task_fail work the shared task queue; share_knowledge and search_knowledge the team knowledge.',
    },
  );
  const tmuxSocket = options.tmuxSocket;
  registerBusTools(server, { layout, agent, inbox, ...(tmuxSocket ? { tmuxSocket } : {}) });

  const json = (uri: string, value: unknown) => ({ contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value) }] });
  server.registerResource(
    'inbox',
    INBOX_URI,
    { title: `${agent}'s inbox`, description: 'Your unacknowledged bus messages, oldest first (reading this acknowledges nothing).', mimeType: 'application/json' },
    async (uri) => {
      const pending = await inbox.pending(READ_MAX);
      return json(uri.href, { agent, messages: pending.messages, more: pending.more });
    },
  );
  server.registerResource(
    'agents',
    AGENTS_URI,
    { title: 'Agents on the bus', description: 'Every registered agent with its role, state and undelivered messages.', mimeType: 'application/json' },
    async (uri) => json(uri.href, { you: agent, agents: await listAgents(layout, agent, tmuxSocket) }),
  );

  const subscribed = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
  const updated = (uri: string): void => {
    if (!subscribed.has(uri) || !server.isConnected()) return;
    server.server.sendResourceUpdated({ uri }).catch((error: unknown) => log(`could not notify ${uri}: ${(error as Error).message}`));
  };
  inbox.on('message', () => updated(INBOX_URI));
  inbox.on('agents', () => updated(AGENTS_URI));
  inbox.on('error', (error) => log(`following the journal: ${error.message}`));
  inbox.start();

  if (!readRegistry(layout).agents[agent]) log(`no agent named ${agent} is registered yet: send_message works; read_inbox and ack answer with an error until \`bmad-bus agents add ${agent}\``);

  let closing: Promise<void> | undefined;
  return {
    server,
    inbox,
    close: () => (closing ??= Promise.all([inbox.close(), server.close()]).then(() => undefined)),
  };
}

/** Serves one agent over stdio until the client hangs up (stdin ends) or a signal comes. */
export async function serveStdio(options: BusMcpServerOptions): Promise<void> {
  const bus = createBusMcpServer(options);
  const transport = new StdioServerTransport();
  const done = new Promise<void>((resolve) => {
    const stop = (): void => void bus.close().then(resolve, resolve);
    transport.onclose = stop;
    process.stdin.once('end', stop);
    process.stdin.once('close', stop);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.once('SIGHUP', stop);
  });
  await bus.server.connect(transport);
  await done;
}
