import type { DeliveryMode } from '../bus/registry.js';
import type { MultilineMode } from '../tmux/render.js';
import type { DeliveryPolicy } from '../agents/profile-types.js';
import type { ProfileSet } from '../agents/profiles.js';
import type { ErrorHandling, PriorityLevel, ResourceManagement } from './resource-types.js';

/** The three tiers of a team (the seed sketch): the orchestrator, one session per epic, support. */
export type SessionTier = 'orchestrator' | 'project' | 'support';
export const SESSION_TIERS: readonly SessionTier[] = ['orchestrator', 'project', 'support'];

export type NamedLayout = 'development' | 'monitoring' | 'tiled' | 'even-horizontal' | 'even-vertical' | 'main-horizontal' | 'main-vertical';
export const NAMED_LAYOUTS: readonly NamedLayout[] = ['development', 'monitoring', 'tiled', 'even-horizontal', 'even-vertical', 'main-horizontal', 'main-vertical'];

/** A window layout: one of the named ones, or a raw tmux layout string (`select-layout` accepts it as is). */
export type LayoutSpec = { kind: 'named'; name: NamedLayout } | { kind: 'raw'; layout: string };

/** Everything bmad-bus needs to start, register and type into one agent. */
/** How an agent runs and takes messages: what cascades defaults → session → window → pane, and what a template sets. */
export interface AgentSettings {
  /** The program the pane runs (a command line, run by tmux through the default shell); undefined: the default shell. */
  command?: string;
  /** Absolute working directory. */
  cwd: string;
  env: Record<string, string>;
  deliver: DeliveryMode;
  /** The agent's profile (agents/profiles.ts), resolved: `auto` became the one its command matched. */
  profile: string;
  policy: DeliveryPolicy;
  submit: string;
  submit_delay: number;
  template?: string;
  multiline: MultilineMode;
  restore_prompt?: string;
  /** Install the CLI's hooks (state and receipts) for it at `up`: default on where the profile's CLI has hooks. */
  hooks: boolean;
  /** Register the bus's MCP server (`bmad-bus mcp`) in the agent's CLI at `up`, so the agent can send, read and take tasks itself. Default off. */
  mcp: boolean;
}

export interface AgentSpec extends AgentSettings {
  name: string;
  type: string;
  role: string;
  project?: string;
  epic?: string;
  instance: number;
  /** Tags of the agent's project (knowledge sharing). */
  tags: string[];
  /** Its level in `resource_management.priorities` (by type, role, then tier). */
  priority: PriorityLevel;
}

export interface PaneSpec {
  /** Position in its window, from 0. */
  index: number;
  /** Set for agent panes; helper panes (a test runner, logs) have none and are not registered. */
  agent?: AgentSpec;
  /** Helper pane's command (agent panes use agent.command). */
  command?: string;
  cwd: string;
  env: Record<string, string>;
  /** A label for helper panes the layout added (`test-runner`, `logs`). */
  title?: string;
}

export interface WindowSpec {
  name: string;
  layout?: LayoutSpec;
  panes: PaneSpec[];
}

export interface SessionSpec {
  name: string;
  tier: SessionTier;
  project?: string;
  epic?: string;
  tags: string[];
  windows: WindowSpec[];
}

export interface GroupSpec {
  leader?: string;
  members: string[];
  /** The layout the seed's `tmux_layout` asked for when the group shares a window. */
  layout?: LayoutSpec;
  coordination?: { method: string; sync_interval_ms?: number };
}

export type SchedulingStrategy = 'round_robin' | 'least_loaded';
export type Priority = 'critical' | 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

export interface Scheduling {
  strategy: SchedulingStrategy;
  /** What each priority means to the scheduler (the seed: immediate, next_available, queue, batch). */
  priorities: Record<Priority, string>;
}

export interface SupervisorSettings {
  enabled: boolean;
  health_interval_ms: number;
  backoff_ms: number;
  /** Default restore prompt for agents that have none of their own. */
  restore_prompt?: string;
  /** 0: no periodic checkpoints. */
  checkpoint_interval_ms: number;
}

export type ScalingMetric = 'task_queue_length' | 'response_time' | 'idle_time';
export const SCALING_METRICS: readonly ScalingMetric[] = ['task_queue_length', 'response_time', 'idle_time'];

export interface ScalingTrigger {
  metric: ScalingMetric;
  /** A count for task_queue_length, milliseconds for response_time and idle_time. */
  threshold: number;
  /** As written: `spawn_dev_agent`, `terminate_agent`, `consolidate_agents`... */
  action: string;
  /** The agent type a `spawn_<type>_agent` action (or `type:`) names. */
  agent_type?: string;
}

export interface ScalingRules {
  interval_ms: number;
  scale_up: { triggers: ScalingTrigger[]; max_agents_per_type: Record<string, number> };
  scale_down: { triggers: ScalingTrigger[] };
}

/** How to start one more agent of a type when scaling up. */
export interface AgentTemplate extends AgentSettings {
  type: string;
  /** The session new agents go into (made if missing); a new window per agent. */
  session: string;
  role: string;
  project?: string;
  epic?: string;
  priority: PriorityLevel;
}

export interface Topology {
  /** Absolute path of the file. */
  file: string;
  name: string;
  sessions: SessionSpec[];
  /** Every agent of every pane, in file order. */
  agents: AgentSpec[];
  groups: Record<string, GroupSpec>;
  /** Limits, cleanup and priorities; `max_sessions`, `supervisor.max_retries`, `supervisor.idle_timeout` and `resource_limits` are read into it. */
  resource_management: ResourceManagement;
  error_handling: ErrorHandling;
  scheduling: Scheduling;
  supervisor: SupervisorSettings;
  scaling_rules?: ScalingRules;
  /** The NATS bridge `up` runs under the keeper (`bmad-bus bridge`): server, machine name, stream, files. */
  bridge?: { nats: string; name?: string; stream?: string; creds?: string; tls_ca?: string };
  templates: Record<string, AgentTemplate>;
  /** Project name → its tags (knowledge sharing); session tags are merged in. */
  projects: Record<string, { tags: string[] }>;
  /** The built-in profiles with the file's `profiles:` applied. */
  profiles: ProfileSet;
}
