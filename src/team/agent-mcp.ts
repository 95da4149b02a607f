import type { HookCli } from '../agents/hook-events.js';
import { applyMcpPlan, planMcp } from '../agents/mcp-config.js';
import type { AgentSettings, Topology } from './topology-types.js';

/** What `up` did about one agent CLI's MCP registration: written, already right, or refused (the files are left as they were). */
export interface McpInstall {
  cli?: HookCli;
  files: string[];
  agents: string[];
  changed: boolean;
  error?: string;
}

/**
 * Registers the bus's MCP server (`bmad-bus mcp`) for the agents that want it,
 * before their panes start (a CLI connects its MCP servers at start-up): in
 * the settings of each agent's CLI in its cwd (Codex: the config.toml of the
 * agent's CODEX_HOME, the only place it reads). Agents sharing a directory
 * share one registration: the server finds out which agent it is from
 * BMAD_AGENT, and the bus from BMAD_BUS_DIR, which `up` sets per pane. A file
 * that cannot take it (broken JSON) is reported and left alone, as is an agent
 * whose profile has no CLI bmad-bus can register a server in. `wants` picks
 * the agents (the topology's `mcp: true`); scaling templates are asked too.
 *
 * @example
 * const mcp = installTeamMcp(topology, BIN, options.dryRun ?? false, (agent) => agent.mcp);
 */
export function installTeamMcp(topology: Topology, bin: string, dryRun: boolean, wants: (agent: AgentSettings) => boolean): McpInstall[] {
  const groups = new Map<string, { cli: HookCli; cwd: string; env: NodeJS.ProcessEnv; agents: string[] }>();
  const refused: McpInstall[] = [];
  const everyone: Array<[string, AgentSettings]> = [
    ...topology.agents.map((a) => [a.name, a] as [string, AgentSettings]),
    ...Object.values(topology.templates).map((t) => [`${t.type} (template)`, t] as [string, AgentSettings]),
  ];
  for (const [name, agent] of everyone) {
    if (!wants(agent)) continue;
    const profile = topology.profiles.resolve(agent.profile, agent.command);
    const cli = profile.hooks;
    if (!cli) {
      refused.push({ files: [], agents: [name], changed: false, error: `profile ${profile.name} is no agent CLI bmad-bus registers an MCP server in (claude, codex, gemini, qwen)` });
      continue;
    }
    const env = { ...process.env, ...agent.env };
    // Codex reads one config.toml (its CODEX_HOME), the others one per directory.
    const key = cli === 'codex' ? `codex:${env.CODEX_HOME ?? ''}` : `${cli}:${agent.cwd}`;
    const group = groups.get(key) ?? { cli, cwd: agent.cwd, env, agents: [] };
    group.agents.push(name);
    groups.set(key, group);
  }
  const installs = [...groups.values()].map(({ cli, cwd, env, agents }): McpInstall => {
    try {
      const plan = planMcp(cli, cli === 'codex' ? 'user' : 'project', cwd, { bin }, false, env);
      const changed = plan.edits.some((e) => e.after !== e.before);
      if (changed && !dryRun) applyMcpPlan(plan);
      return { cli, files: plan.edits.map((e) => e.file), agents, changed };
    } catch (error) {
      return { cli, files: [], agents, changed: false, error: (error as Error).message };
    }
  });
  return [...installs, ...refused];
}
