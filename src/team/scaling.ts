import { levelRank, type PriorityLevel } from '../bus/priority.js';
import type { SessionLimits } from './resource-types.js';
import { limitBreach, type LimitBreach } from './session-limits.js';
import type { AgentTemplate, ScalingRules, ScalingTrigger } from './topology-types.js';
import type { AgentHealth } from './supervisor-types.js';

/**
 * The scaling decision as a pure function of the rules, the agents and the
 * task queue (no clock, no tmux): the supervisor measures, this decides, the
 * supervisor acts and tells the bus.
 *
 * Metrics:
 * - `task_queue_length`: ready tasks (pending, every dependency done) not
 *   addressed to one agent. For scale-up, only those an agent of the trigger's
 *   type could take (its template's role, or no role); for consolidation, all.
 * - `response_time`: an agent's reply time is the time from a `task` message
 *   to it until its next message of any type (a reply, a `result`); while it
 *   has not answered yet, the time waited so far. Scale-up looks at the
 *   slowest live agent of the template's role.
 * - `idle_time`: how long the agent's pane has shown no change.
 *
 * Scale-down only ever stops agents scaling started (the topology's own team
 * stays), never one holding a task (assigned in the tasks file), never one
 * younger than `minAgeMs`, and never in the same pass as a spawn of its type.
 */

export interface ScalingAgent {
  name: string;
  type: string;
  role?: string | undefined;
  /** Started by scaling (only these are stopped by it). */
  scaled: boolean;
  status?: AgentHealth | undefined;
  idleMs: number;
  /** Has an assigned task in the tasks file. */
  holdsTask: boolean;
  /** Current reply time (see above); undefined when it was never sent a task. */
  replyMs?: number | undefined;
  /** Time since it was started (scaled agents) or first seen. */
  ageMs: number;
  project?: string | undefined;
  priority?: PriorityLevel | undefined;
}

export interface ScalingInput {
  rules: ScalingRules;
  templates: Record<string, AgentTemplate>;
  agents: ScalingAgent[];
  /** The ready queue. */
  ready: Array<{ role?: string | undefined; to?: string | undefined }>;
  /** A scaled agent younger than this is not stopped (it has not had a chance yet). */
  minAgeMs: number;
  /** `resource_management.session_limits`: no spawn takes the team over them. */
  limits?: SessionLimits | undefined;
}

export type ScalingAction =
  | { kind: 'spawn'; type: string; template: AgentTemplate; metric: ScalingTrigger['metric']; value: number; threshold: number }
  | { kind: 'terminate'; agent: string; type: string; metric: ScalingTrigger['metric']; value: number; threshold: number };

export interface ScalingPlan {
  actions: ScalingAction[];
  /** Why a trigger that fired did nothing (no template, at the limit...). */
  skipped: string[];
  /** Spawns session_limits refused (each is an event). */
  refused: Array<LimitBreach & { type: string }>;
}

/** The limit for a type that `max_agents_per_type` does not list: scaling must never run away. */
export const DEFAULT_MAX_PER_TYPE = 4;

export function planScaling(input: ScalingInput): ScalingPlan {
  const actions: ScalingAction[] = [];
  const skipped: string[] = [];
  const refused: ScalingPlan['refused'] = [];
  const live = input.agents.filter((a) => a.status !== 'failed');
  // Every agent of the team counts against session_limits, a failed one too: its pane and record are still there.
  const team: Array<{ project?: string | undefined }> = input.agents.map((a) => ({ project: a.project }));
  const count = new Map<string, number>();
  for (const agent of live) count.set(agent.type, (count.get(agent.type) ?? 0) + 1);
  const spawned = new Set<string>();

  for (const trigger of input.rules.scale_up.triggers) {
    const type = trigger.agent_type;
    if (!type) {
      skipped.push(`${trigger.action}: names no agent type (spawn_<type>_agent or type:)`);
      continue;
    }
    const template = input.templates[type];
    if (!template) {
      skipped.push(`${trigger.action}: no template for agent type ${type}`);
      continue;
    }
    if (spawned.has(type)) continue;
    const value = measureUp(trigger, template, live, input.ready);
    if (value === undefined || value <= trigger.threshold) continue;
    const max = input.rules.scale_up.max_agents_per_type[type] ?? DEFAULT_MAX_PER_TYPE;
    if ((count.get(type) ?? 0) >= max) {
      skipped.push(`${trigger.action}: ${type} is at its limit of ${max}`);
      continue;
    }
    const breach = input.limits ? limitBreach(input.limits, team, [{ project: template.project }]) : undefined;
    if (breach) {
      refused.push({ ...breach, type });
      continue;
    }
    actions.push({ kind: 'spawn', type, template, metric: trigger.metric, value, threshold: trigger.threshold });
    team.push({ project: template.project });
    count.set(type, (count.get(type) ?? 0) + 1);
    spawned.add(type);
  }

  const stopped = new Set<string>();
  const candidates = (trigger: ScalingTrigger): ScalingAgent[] =>
    input.agents.filter(
      (a) => a.scaled && !a.holdsTask && !stopped.has(a.name) && !spawned.has(a.type) && a.status !== 'restarting' &&
        a.ageMs >= input.minAgeMs && (!trigger.agent_type || trigger.agent_type === a.type),
    );
  for (const trigger of input.rules.scale_down.triggers) {
    if (trigger.metric === 'idle_time') {
      for (const agent of candidates(trigger)) {
        if (agent.idleMs <= trigger.threshold) continue;
        actions.push({ kind: 'terminate', agent: agent.name, type: agent.type, metric: trigger.metric, value: agent.idleMs, threshold: trigger.threshold });
        stopped.add(agent.name);
      }
    } else if (trigger.metric === 'task_queue_length') {
      // Consolidate: a short queue needs fewer agents; one at a time, the idlest first.
      const queue = input.ready.filter((t) => !t.to).length;
      if (queue >= trigger.threshold) continue;
      const agent = candidates(trigger).sort((a, b) => b.idleMs - a.idleMs)[0];
      if (!agent) continue;
      actions.push({ kind: 'terminate', agent: agent.name, type: agent.type, metric: trigger.metric, value: queue, threshold: trigger.threshold });
      stopped.add(agent.name);
    } else {
      skipped.push(`${trigger.action}: metric ${trigger.metric} does not scale down`);
    }
  }
  return { actions, skipped, refused };
}

/**
 * out_of_memory's scale-down: of the agents scaling started (never `except`,
 * never one holding a task or being restarted), the lowest priority, and of
 * those the idlest. Undefined when there is none.
 */
export function pickScaleDown(agents: readonly ScalingAgent[], except: string): ScalingAgent | undefined {
  return agents
    .filter((a) => a.scaled && a.name !== except && !a.holdsTask && a.status !== 'restarting')
    .sort((a, b) => levelRank(b.priority) - levelRank(a.priority) || b.idleMs - a.idleMs || (a.name < b.name ? -1 : 1))[0];
}

function measureUp(trigger: ScalingTrigger, template: AgentTemplate, agents: ScalingAgent[], ready: ScalingInput['ready']): number | undefined {
  switch (trigger.metric) {
    case 'task_queue_length':
      return ready.filter((t) => !t.to && (t.role === undefined || t.role === template.role)).length;
    case 'response_time': {
      const times = agents.filter((a) => a.role === template.role && a.replyMs !== undefined).map((a) => a.replyMs!);
      return times.length > 0 ? Math.max(...times) : undefined;
    }
    case 'idle_time':
      return undefined; // idleness never calls for more agents
  }
}

/** The name of the next agent of a template: the seed's `{type}-{project}-{epic}-{instance}`, with the first free instance. */
export function scaledAgentName(template: AgentTemplate, taken: ReadonlySet<string>): string {
  const base = [template.type, template.project ?? (template.epic ? undefined : 'global'), template.epic].filter(Boolean).join('-');
  for (let instance = 1; ; instance++) {
    const name = `${base}-${instance}`;
    if (!taken.has(name)) return name;
  }
}
