import { applyHookPlan, hookConfigFile, planHooks } from '../agents/hook-config.js';
import type { HookCli } from '../agents/hook-events.js';
import type { AgentSettings, Topology } from './topology-types.js';

/** What `up` did about one CLI settings file: written, already right, or refused (the file is left as it was). */
export interface HookInstall {
  cli: HookCli;
  file: string;
  agents: string[];
  changed: boolean;
  error?: string;
}

/**
 * Installs the agents' hooks before their panes start (the CLIs read their
 * settings at start-up): for every agent with `hooks: true` whose profile's
 * CLI has hooks, into that CLI's settings in the agent's cwd (Codex: its
 * config.toml in the agent's CODEX_HOME, the only place it reads). Agents
 * sharing a file share one install: the hook finds out which agent it is
 * from BMAD_AGENT, which only that agent's pane has. A file that cannot take
 * them (broken JSON, a notify of the user's own) is reported and left alone:
 * the team still comes up, typing into the panes as before.
 */
export function installTeamHooks(topology: Topology, bin: string, dryRun: boolean): HookInstall[] {
  const byFile = new Map<string, { cli: HookCli; agents: string[] }>();
  // Scaling's templates too: the agents it starts later run in their cwd.
  const everyone: Array<[string, AgentSettings]> = [
    ...topology.agents.map((a) => [a.name, a] as [string, AgentSettings]),
    ...Object.values(topology.templates).map((t) => [`${t.type} (template)`, t] as [string, AgentSettings]),
  ];
  for (const [name, agent] of everyone) {
    const cli = hookCliOf(topology, agent);
    if (!cli) continue;
    const file = hookConfigFile(cli, cli === 'codex' ? 'user' : 'project', agent.cwd, { ...process.env, ...agent.env });
    const entry = byFile.get(file) ?? { cli, agents: [] };
    entry.agents.push(name);
    byFile.set(file, entry);
  }
  return [...byFile].map(([file, { cli, agents }]) => {
    try {
      const plan = planHooks(cli, file, bin);
      const changed = plan.after !== plan.before;
      if (changed && !dryRun) applyHookPlan(plan);
      return { cli, file, agents, changed };
    } catch (error) {
      return { cli, file, agents, changed: false, error: (error as Error).message };
    }
  });
}

function hookCliOf(topology: Topology, agent: AgentSettings): HookCli | undefined {
  if (!agent.hooks) return undefined;
  return topology.profiles.resolve(agent.profile, agent.command).hooks;
}
