import { openOrInitRoot } from '../bus/root.js';
import { loadTopology } from '../team/topology.js';
import { up } from '../team/up.js';
import { BIN } from '../router/daemon-control.js';
import type { HookInstall } from '../team/agent-hooks.js';
import type { McpInstall } from '../team/agent-mcp.js';
import type { Topology } from '../team/topology-types.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export async function upCommand(file: string, options: GlobalOptions & { dryRun?: boolean; router?: boolean; json?: boolean }): Promise<void> {
  const topology = loadTopology(file);
  const socket = tmuxSocketOf(options);
  const layout = openOrInitRoot(rootOf(options));
  const result = await up(layout, topology, { socket, dryRun: options.dryRun ?? false, busBin: BIN, print: printLine });
  if (options.dryRun) {
    for (const h of result.hooks) printLine(hookLine(h, true));
    for (const m of result.mcp) printLine(mcpLine(m, true));
    return;
  }
  let router: { routerPid: number; alreadyRunning: boolean } | undefined;
  if (options.router !== false) {
    const { startDaemon } = await import('../router/daemon-control.js');
    router = await startDaemon(layout, { ...(socket ? { tmuxSocket: socket } : {}), topologyFile: topology.file, ...(topology.bridge ? { bridgeEnv: bridgeEnvOf(topology.bridge) } : {}) });
  }
  if (options.json) {
    printJson({ file: topology.file, created: result.created, agents: result.agents, hooks: result.hooks, mcp: result.mcp, router: router ?? null });
    return;
  }
  const { sessions, windows, panes } = result.created;
  printLine(
    sessions.length + windows.length + panes.length === 0
      ? `${topology.name}: already up (${result.agents.length} agents)`
      : `${topology.name}: created ${sessions.length} sessions, ${windows.length} windows, ${panes.length} panes; ${result.agents.length} agents registered`,
  );
  for (const h of result.hooks) if (h.changed || h.error) printLine(hookLine(h, false));
  for (const m of result.mcp) if (m.changed || m.error) printLine(mcpLine(m, false));
  if (router) printLine(router.alreadyRunning ? `router already running (pid ${router.routerPid})` : `router started (pid ${router.routerPid})`);
  if (router?.alreadyRunning) {
    // A daemon started before this team existed runs no supervisor for it.
    const { readLiveKeeperStatus } = await import('../router/router-status.js');
    if (!readLiveKeeperStatus(layout)?.supervisor_pid) printLine('no supervisor runs for this team: `bmad-bus stop && bmad-bus up FILE` restarts the daemon with one, or run `bmad-bus supervise`');
  }
}

function hookLine(h: HookInstall, dry: boolean): string {
  const who = h.agents.join(', ');
  if (h.error) return `hooks for ${who} (${h.cli}) not installed: ${h.error}; messages are still typed, without receipts`;
  if (!h.changed) return `hooks for ${who} (${h.cli}): ${h.file} already has them`;
  return `hooks for ${who} (${h.cli}): ${dry ? 'would install in' : 'installed in'} ${h.file}`;
}

function mcpLine(m: McpInstall, dry: boolean): string {
  const who = m.agents.join(', ');
  if (m.error) return `MCP server for ${who} not registered: ${m.error}`;
  if (!m.changed) return `MCP server for ${who} (${m.cli}): already registered in ${m.files.join(', ')}`;
  return `MCP server for ${who} (${m.cli}): ${dry ? 'would register in' : 'registered in'} ${m.files.join(', ')}`;
}

/** A topology's `bridge:` as the bridge's environment (what `bmad-bus bridge` reads when it has no flags). */
function bridgeEnvOf(bridge: NonNullable<Topology['bridge']>): Record<string, string> {
  const env: Record<string, string> = { BMAD_NATS_URL: bridge.nats };
  if (bridge.name) env.BMAD_NATS_NAME = bridge.name;
  if (bridge.stream) env.BMAD_NATS_STREAM = bridge.stream;
  if (bridge.creds) env.BMAD_NATS_CREDS = bridge.creds;
  if (bridge.tls_ca) env.BMAD_NATS_TLS_CA = bridge.tls_ca;
  return env;
}
