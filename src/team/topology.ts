import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, UsageError } from '../bus/errors.js';
import type { ProfileSet } from '../agents/profiles.js';
import { DELIVERY_POLICIES } from '../agents/profile-types.js';
import { NAME_PATTERN } from '../bus/names.js';
import { DELIVERY_MODES } from '../bus/registry.js';
import { HANDOFF_CLIS } from '../agents/hook-events.js';
import { SUBMIT_KEY_PATTERN } from '../tmux/injector.js';
import { MULTILINE_MODES } from '../tmux/render.js';
import { priorityOf, type PriorityLevel } from './resource-types.js';
import { readProfiles } from './topology-profiles.js';
import { readErrorHandling, readResourceManagement } from './topology-resources.js';
import { TopologyReader, type Path } from './topology-reader.js';
import {
  NAMED_LAYOUTS, PRIORITIES, SCALING_METRICS, SESSION_TIERS,
  type AgentSettings, type AgentSpec, type AgentTemplate, type GroupSpec, type LayoutSpec, type NamedLayout, type PaneSpec, type Priority,
  type ScalingRules, type ScalingTrigger, type SessionSpec, type SessionTier, type Topology, type WindowSpec,
} from './topology-types.js';

export * from './topology-types.js';

const NAME_TEXT = 'a name matching [a-z0-9][a-z0-9._-]{0,63}';
/** tmux session and window names: no `:` or `.` (target separators), nothing a shell or tmux would read twice. */
const TMUX_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
const TMUX_NAME_TEXT = 'letters, digits, _ and - (no `.` or `:`, which tmux reads as target separators)';
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RAW_LAYOUT = /^[0-9a-f]{4},\d+x\d+,\d+,\d+[[{,]/;

/** Agent fields that may appear in `defaults`, on sessions, windows and panes. */
const AGENT_FIELDS = ['command', 'cwd', 'env', 'deliver', 'profile', 'policy', 'submit', 'submit_delay', 'template', 'multiline', 'restore_prompt', 'hooks', 'mcp'] as const;
const PANE_FIELDS = ['name', 'type', 'role', 'instance', 'project', 'epic', 'agent', 'title', ...AGENT_FIELDS] as const;
const WINDOW_FIELDS = ['name', 'layout', 'panes', ...PANE_FIELDS] as const;
const SESSION_FIELDS = ['name', 'tier', 'layout', 'project', 'epic', 'tags', 'windows', ...AGENT_FIELDS] as const;
const TOP_FIELDS = [
  'version', 'name', 'defaults', 'sessions', 'agent_groups', 'max_sessions', 'resource_limits', 'scheduling',
  'supervisor', 'scaling_rules', 'templates', 'projects', 'profiles', 'resource_management', 'error_handling', 'bridge',
] as const;

/**
 * Agent settings as they cascade: defaults → session → window → pane. What
 * typing needs (submit key, delay, line breaks, policy) stays unset unless a
 * level sets it: the agent's profile supplies the rest (settle()).
 */
type Inherited = Omit<AgentSettings, 'profile' | 'policy' | 'submit' | 'submit_delay' | 'multiline' | 'hooks' | 'mcp'> &
  Partial<Pick<AgentSettings, 'profile' | 'policy' | 'submit' | 'submit_delay' | 'multiline' | 'hooks' | 'mcp'>>;

/** Reads and validates a topology file. Errors are ConfigError naming the file, the line and the field. */
export function loadTopology(file: string): Topology {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read topology file ${absolute}: ${(error as Error).message}`, { cause: error });
  }
  return parseTopology(text, absolute);
}

/**
 * Parses topology YAML. `file` names the source in errors and anchors
 * relative `cwd`s (relative to the file's directory).
 *
 * @example
 * const team = parseTopology(fs.readFileSync('team.yaml', 'utf8'), path.resolve('team.yaml'));
 * for (const agent of team.agents) console.log(agent.name, agent.role);
 */
export function parseTopology(text: string, file: string): Topology {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem) {
    const at = problem.linePos?.[0] ?? lines.linePos(problem.pos[0]);
    throw new ConfigError(`${file}${at ? `:${at.line}:${at.col}` : ''}: invalid YAML: ${problem.message.split('\n')[0]}`);
  }
  const r = new TopologyReader(file, doc, lines);
  r.object([], TOP_FIELDS);
  const version = r.integer(['version'], 1);
  if (version !== undefined && version !== 1) r.fail(['version'], `expected 1, got ${version}`);
  const baseDir = path.dirname(file);
  const name = r.string(['name']) ?? path.basename(file).replace(/\.(ya?ml)$/i, '');

  const profiles = readProfiles(r);
  r.object(['defaults'], AGENT_FIELDS, true);
  const defaults = inherit(r, ['defaults'], { cwd: baseDir, env: {}, deliver: 'tmux' }, baseDir);

  const projects = readProjects(r);
  const sessions: SessionSpec[] = [];
  const agents: AgentSpec[] = [];
  const instances = new Map<string, number>();
  const seenAgents = new Map<string, Path>();
  const seenSessions = new Set<string>();
  const sessionList = r.list(['sessions'], false);
  if (sessionList.length === 0) r.fail(['sessions'], 'expected at least one session');

  sessionList.forEach((_, s) => {
    const sp: Path = ['sessions', s];
    r.object(sp, SESSION_FIELDS);
    const sessionName = r.matching([...sp, 'name'], TMUX_NAME, TMUX_NAME_TEXT) ?? r.fail([...sp, 'name'], 'is required');
    if (seenSessions.has(sessionName)) r.fail([...sp, 'name'], `duplicate session name \`${sessionName}\``);
    seenSessions.add(sessionName);
    const project = r.matching([...sp, 'project'], NAME_PATTERN, NAME_TEXT);
    const epic = r.matching([...sp, 'epic'], NAME_PATTERN, NAME_TEXT);
    const tier: SessionTier = r.oneOf([...sp, 'tier'], SESSION_TIERS) ?? (project || epic ? 'project' : 'support');
    const tags = [...new Set([...r.stringList([...sp, 'tags']), ...(project ? (projects[project]?.tags ?? []) : [])])];
    if (project) projects[project] = { tags: [...new Set([...(projects[project]?.tags ?? []), ...tags])] };
    const sessionLayout = readLayout(r, [...sp, 'layout']);
    const sessionInherited = inherit(r, sp, defaults, baseDir);
    const windows: WindowSpec[] = [];
    const seenWindows = new Set<string>();
    const windowList = r.list([...sp, 'windows'], false);
    if (windowList.length === 0) r.fail([...sp, 'windows'], 'expected at least one window');

    windowList.forEach((__, w) => {
      const wp: Path = [...sp, 'windows', w];
      r.object(wp, WINDOW_FIELDS);
      const windowInherited = inherit(r, wp, sessionInherited, baseDir);
      const hasPanes = r.has([...wp, 'panes']);
      if (hasPanes) {
        for (const field of PANE_FIELDS) {
          if (field !== 'name' && !(AGENT_FIELDS as readonly string[]).includes(field) && r.has([...wp, field])) {
            r.fail([...wp, field], 'belongs on a pane when the window lists `panes`');
          }
        }
      }
      // A window without `panes` is itself the one pane: "agents as windows or panes".
      const paneEntries: Array<{ path: Path; inherited: Inherited }> = hasPanes
        ? r.list([...wp, 'panes'], false).map((___, p) => ({ path: [...wp, 'panes', p] as Path, inherited: windowInherited }))
        : [{ path: wp, inherited: sessionInherited }];
      if (paneEntries.length === 0) r.fail([...wp, 'panes'], 'expected at least one pane');
      const panes: PaneSpec[] = paneEntries.map((entry, index) => {
        if (entry.path !== wp) r.object(entry.path, PANE_FIELDS);
        const pane = readPane(r, entry.path, index, entry.inherited, baseDir, { project, epic, tags: project ? projects[project]!.tags : tags }, instances, profiles);
        if (pane.agent) {
          const previous = seenAgents.get(pane.agent.name);
          if (previous) r.fail([...entry.path, 'name'], `duplicate agent name \`${pane.agent.name}\` (also at line ${r.lineOf(previous) ?? '?'})`);
          seenAgents.set(pane.agent.name, [...entry.path, 'name']);
          agents.push(pane.agent);
        }
        return pane;
      });
      const windowName = r.matching([...wp, 'name'], TMUX_NAME, TMUX_NAME_TEXT) ?? panes.find((p) => p.agent)?.agent?.name.replace(/\./g, '_') ?? `window-${w}`;
      if (seenWindows.has(windowName)) r.fail([...wp, 'name'], `duplicate window name \`${windowName}\` in session \`${sessionName}\``);
      seenWindows.add(windowName);
      const layout = readLayout(r, [...wp, 'layout']) ?? sessionLayout;
      fillLayout(layout, panes, windowInherited);
      windows.push({ name: windowName, ...(layout ? { layout } : {}), panes });
    });
    sessions.push({ name: sessionName, tier, ...(project ? { project } : {}), ...(epic ? { epic } : {}), tags, windows });
  });

  const templates = readTemplates(r, defaults, baseDir, profiles);
  const resources = readResourceManagement(r, knownPriorityKeys(agents, Object.values(templates)));
  setPriorities(sessions, Object.values(templates), resources.priorities);
  return {
    file,
    name,
    sessions,
    agents,
    groups: readGroups(r),
    resource_management: resources,
    error_handling: readErrorHandling(r, resources.per_session),
    scheduling: readScheduling(r),
    supervisor: readSupervisor(r),
    ...(r.has(['scaling_rules']) ? { scaling_rules: readScaling(r) } : {}),
    ...(r.has(['bridge']) ? { bridge: readBridge(r, baseDir) } : {}),
    templates,
    projects,
    profiles,
  };
}

function readPane(
  r: TopologyReader, p: Path, index: number, inherited: Inherited, baseDir: string,
  scope: { project: string | undefined; epic: string | undefined; tags: string[] }, instances: Map<string, number>, profiles: ProfileSet,
): PaneSpec {
  const inheritedHere = inherit(r, p, inherited, baseDir);
  // In a window written as its own pane, `name` names the window; the agent is named by the convention.
  const isPane = p[p.length - 2] === 'panes';
  const isAgent = r.boolean([...p, 'agent']) ?? (r.has([...p, 'type']) || r.has([...p, 'role']) || (isPane && r.has([...p, 'name'])));
  const title = r.string([...p, 'title']);
  if (!isAgent) {
    for (const field of ['type', 'role', 'instance'] as const) if (r.has([...p, field])) r.fail([...p, field], 'only agent panes have it (remove `agent: false`)');
    // Only its own command: the inherited one is the agents' program; without one a helper pane runs the user's shell.
    const command = r.string([...p, 'command']);
    return { index, ...(command !== undefined ? { command } : {}), cwd: inheritedHere.cwd, env: inheritedHere.env, ...(title ? { title } : {}) };
  }
  const settings = settle(r, p, inheritedHere, profiles);
  const explicitName = isPane ? r.matching([...p, 'name'], NAME_PATTERN, NAME_TEXT) : undefined;
  const type = r.matching([...p, 'type'], NAME_PATTERN, NAME_TEXT) ?? r.matching([...p, 'role'], NAME_PATTERN, NAME_TEXT) ?? explicitName;
  if (!type) r.fail([...p, 'type'], 'is required for an agent pane (or give it a `name`)');
  const role = r.matching([...p, 'role'], NAME_PATTERN, NAME_TEXT) ?? type;
  const project = r.matching([...p, 'project'], NAME_PATTERN, NAME_TEXT) ?? scope.project;
  const epic = r.matching([...p, 'epic'], NAME_PATTERN, NAME_TEXT) ?? scope.epic;
  const key = `${type}\0${project ?? ''}\0${epic ?? ''}`;
  const instance = r.integer([...p, 'instance'], 1) ?? (instances.get(key) ?? 0) + 1;
  instances.set(key, Math.max(instance, instances.get(key) ?? 0));
  // The naming convention of the seed: {type}-{project}-{epic}-{instance}, e.g. dev-frontend-epic36-1, monitor-global-1.
  const name = explicitName ?? [type, project ?? (epic ? undefined : 'global'), epic, String(instance)].filter(Boolean).join('-');
  if (!NAME_PATTERN.test(name)) r.fail([...p, 'name'], `the default name \`${name}\` is not ${NAME_TEXT}; set \`name\``);
  const agent: AgentSpec = {
    name, type, role, ...dropUndefined({ command: settings.command, template: settings.template, restore_prompt: settings.restore_prompt, project, epic }),
    cwd: settings.cwd, env: settings.env, deliver: settings.deliver, profile: settings.profile, policy: settings.policy, submit: settings.submit,
    submit_delay: settings.submit_delay, multiline: settings.multiline, hooks: settings.hooks, mcp: settings.mcp, instance, tags: scope.tags, priority: 'normal',
  };
  return { index, agent, cwd: settings.cwd, env: settings.env, ...(title ? { title } : {}) };
}

/** Applies one level's agent fields over what it inherited; env maps merge. */
function inherit(r: TopologyReader, p: Path, base: Inherited, baseDir: string): Inherited {
  const out: Inherited = { ...base, env: { ...base.env } };
  const command = r.string([...p, 'command']);
  if (command !== undefined) {
    if (command.trim() === '') r.fail([...p, 'command'], 'expected a command line, got an empty text');
    out.command = command;
  }
  const cwd = r.string([...p, 'cwd']);
  if (cwd !== undefined) out.cwd = resolveDir(cwd, baseDir);
  const env = r.map([...p, 'env']);
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_KEY.test(key)) r.fail([...p, 'env', key], 'expected an environment variable name like API_URL');
    if (value !== null && typeof value === 'object') r.fail([...p, 'env', key], 'expected a text value');
    out.env[key] = value === null ? '' : String(value);
  }
  const deliver = r.oneOf([...p, 'deliver'], DELIVERY_MODES);
  if (deliver) out.deliver = deliver;
  const profile = r.string([...p, 'profile']);
  if (profile !== undefined) out.profile = profile;
  const policy = r.oneOf([...p, 'policy'], DELIVERY_POLICIES);
  if (policy) out.policy = policy;
  const submit = r.matching([...p, 'submit'], SUBMIT_KEY_PATTERN, 'a key name like Enter or C-m');
  if (submit) out.submit = submit;
  const delay = r.duration([...p, 'submit_delay']);
  if (delay !== undefined) out.submit_delay = delay;
  const template = r.string([...p, 'template']);
  if (template !== undefined) out.template = template;
  const multiline = r.oneOf([...p, 'multiline'], MULTILINE_MODES);
  if (multiline) out.multiline = multiline;
  const restore = r.string([...p, 'restore_prompt']);
  if (restore !== undefined) out.restore_prompt = restore;
  const hooks = r.boolean([...p, 'hooks']);
  if (hooks !== undefined) out.hooks = hooks;
  const mcp = r.boolean([...p, 'mcp']);
  if (mcp !== undefined) out.mcp = mcp;
  return out;
}

/**
 * The agent's profile (by name, or `auto`: by its command) fills in what no
 * level of the file set: submit key, delay, line breaks and policy.
 */
function settle(r: TopologyReader, p: Path, s: Inherited, profiles: ProfileSet): AgentSettings {
  let profile;
  try {
    profile = profiles.resolve(s.profile, s.command);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    r.fail([...p, 'profile'], error.message);
  }
  if (s.deliver === 'hooks') {
    // The hooks are the way in: a CLI whose hooks cannot hand messages over, or hooks left out, would never get one.
    if (!profile.hooks || !HANDOFF_CLIS.includes(profile.hooks)) r.fail([...p, 'deliver'], `deliver: hooks needs a CLI whose hooks hand messages over (${HANDOFF_CLIS.join(', ')}); profile ${profile.name} has none: use deliver: tmux`);
    if (s.hooks === false) r.fail([...p, 'hooks'], 'deliver: hooks needs the hooks installed: drop hooks: false');
  }
  return {
    ...s,
    profile: profile.name,
    policy: s.policy ?? profile.default_policy,
    submit: s.submit ?? profile.submit_key,
    submit_delay: s.submit_delay ?? profile.submit_delay,
    multiline: s.multiline ?? profile.multiline,
    hooks: s.hooks ?? (profile.ai && profile.hooks !== undefined),
    mcp: s.mcp ?? false,
  };
}

function resolveDir(dir: string, baseDir: string): string {
  if (dir === '~' || dir.startsWith('~/')) return path.join(os.homedir(), dir.slice(1));
  return path.resolve(baseDir, dir);
}

function readLayout(r: TopologyReader, p: Path): LayoutSpec | undefined {
  const value = r.string(p);
  if (value === undefined) return undefined;
  if ((NAMED_LAYOUTS as readonly string[]).includes(value)) return { kind: 'named', name: value as NamedLayout };
  if (RAW_LAYOUT.test(value)) return { kind: 'raw', layout: value };
  r.fail(p, `expected ${NAMED_LAYOUTS.join(', ')} or a raw tmux layout string (as \`#{window_layout}\` prints), got \`${value}\``);
}

/** development: a main pane and, on the right, a test runner and logs; monitoring: a 4-pane dashboard. Missing panes are added as shells. */
function fillLayout(layout: LayoutSpec | undefined, panes: PaneSpec[], inherited: Inherited): void {
  if (layout?.kind !== 'named') return;
  const titles = layout.name === 'development' ? ['main', 'test-runner', 'logs'] : layout.name === 'monitoring' ? ['dashboard-1', 'dashboard-2', 'dashboard-3', 'dashboard-4'] : [];
  for (let i = panes.length; i < titles.length; i++) panes.push({ index: i, cwd: inherited.cwd, env: inherited.env, title: titles[i]! });
}

function readGroups(r: TopologyReader): Record<string, GroupSpec> {
  const groups: Record<string, GroupSpec> = {};
  for (const name of Object.keys(r.map(['agent_groups']))) {
    const p: Path = ['agent_groups', name];
    if (!NAME_PATTERN.test(name)) r.fail(p, `group names must be ${NAME_TEXT}`);
    r.object(p, ['leader', 'members', 'tmux_layout', 'layout', 'coordination']);
    const leader = r.matching([...p, 'leader'], NAME_PATTERN, NAME_TEXT);
    const members = r.list([...p, 'members']).map((_, i) => r.matching([...p, 'members', i], NAME_PATTERN, NAME_TEXT) ?? r.fail([...p, 'members', i], 'is empty'));
    if (members.length === 0 && !leader) r.fail([...p, 'members'], 'expected at least one member or a leader');
    // The seed writes the group's layout as tmux commands; only the layout name in it is taken.
    const rawLayout = r.string([...p, 'layout']) ?? /select-layout\b.*?\b([a-z-]+)\s*$/m.exec(r.string([...p, 'tmux_layout']) ?? '')?.[1];
    let layout: LayoutSpec | undefined;
    if (rawLayout !== undefined) {
      if ((NAMED_LAYOUTS as readonly string[]).includes(rawLayout)) layout = { kind: 'named', name: rawLayout as NamedLayout };
      else r.fail([...p, r.has([...p, 'layout']) ? 'layout' : 'tmux_layout'], `expected a layout name (${NAMED_LAYOUTS.join(', ')}), got \`${rawLayout}\``);
    }
    let coordination: GroupSpec['coordination'];
    if (r.has([...p, 'coordination'])) {
      r.object([...p, 'coordination'], ['method', 'sync_interval']);
      const interval = r.duration([...p, 'coordination', 'sync_interval']);
      coordination = { method: r.string([...p, 'coordination', 'method']) ?? 'bus', ...(interval !== undefined ? { sync_interval_ms: interval } : {}) };
    }
    groups[name] = { ...(leader ? { leader } : {}), members, ...(layout ? { layout } : {}), ...(coordination ? { coordination } : {}) };
  }
  return groups;
}

/**
 * `bridge:`: the NATS bridge `up` runs under the keeper. Secrets stay out of
 * the file: a token or password comes from the environment (`BMAD_NATS_TOKEN`,
 * `BMAD_NATS_USER` and `BMAD_NATS_PASSWORD`), or a credentials file is named.
 */
function readBridge(r: TopologyReader, baseDir: string): NonNullable<Topology['bridge']> {
  r.object(['bridge'], ['nats', 'name', 'stream', 'creds', 'tls_ca']);
  const nats = r.string(['bridge', 'nats']);
  if (nats === undefined) r.fail(['bridge', 'nats'], 'is required (the NATS server URL, e.g. nats://10.0.0.5:4222)');
  const file = (key: 'creds' | 'tls_ca'): string | undefined => {
    const value = r.string(['bridge', key]);
    return value === undefined ? undefined : resolveDir(value, baseDir);
  };
  const bridge: NonNullable<Topology['bridge']> = { nats };
  const name = r.string(['bridge', 'name']);
  const stream = r.string(['bridge', 'stream']);
  const creds = file('creds');
  const tlsCa = file('tls_ca');
  if (name !== undefined) bridge.name = name;
  if (stream !== undefined) bridge.stream = stream;
  if (creds !== undefined) bridge.creds = creds;
  if (tlsCa !== undefined) bridge.tls_ca = tlsCa;
  return bridge;
}

function readScheduling(r: TopologyReader): Topology['scheduling'] {
  r.object(['scheduling'], ['strategy', 'priorities'], true);
  const priorities: Record<Priority, string> = { critical: 'immediate', high: 'next_available', normal: 'queue', low: 'batch' };
  r.object(['scheduling', 'priorities'], PRIORITIES, true);
  for (const priority of PRIORITIES) {
    const value = r.oneOf(['scheduling', 'priorities', priority], ['immediate', 'next_available', 'queue', 'batch'] as const);
    if (value) priorities[priority] = value;
  }
  return { strategy: r.oneOf(['scheduling', 'strategy'], ['round_robin', 'least_loaded'] as const) ?? 'round_robin', priorities };
}

function readSupervisor(r: TopologyReader): Topology['supervisor'] {
  const fields = ['enabled', 'health_interval', 'max_retries', 'backoff', 'idle_timeout', 'restore_prompt', 'checkpoint_interval'];
  r.object(['supervisor'], fields, true);
  const p = ['supervisor'];
  return {
    enabled: r.boolean([...p, 'enabled']) ?? true,
    health_interval_ms: r.duration([...p, 'health_interval']) ?? 5000,
    // max_retries and idle_timeout are read into resource_management.cleanup (topology-resources.ts).
    backoff_ms: r.duration([...p, 'backoff']) ?? 2000,
    ...dropUndefined({ restore_prompt: r.string([...p, 'restore_prompt']) }),
    checkpoint_interval_ms: r.duration([...p, 'checkpoint_interval']) ?? 0,
  };
}

function readScaling(r: TopologyReader): ScalingRules {
  r.object(['scaling_rules'], ['interval', 'scale_up', 'scale_down']);
  r.object(['scaling_rules', 'scale_up'], ['triggers', 'limits'], true);
  r.object(['scaling_rules', 'scale_up', 'limits'], ['max_agents_per_type'], true);
  r.object(['scaling_rules', 'scale_down'], ['triggers'], true);
  const max: Record<string, number> = {};
  const limits = r.map(['scaling_rules', 'scale_up', 'limits', 'max_agents_per_type']);
  for (const type of Object.keys(limits)) {
    const p: Path = ['scaling_rules', 'scale_up', 'limits', 'max_agents_per_type', type];
    if (!NAME_PATTERN.test(type)) r.fail(p, `agent types must be ${NAME_TEXT}`);
    max[type] = r.integer(p, 0)!;
  }
  return {
    interval_ms: r.duration(['scaling_rules', 'interval']) ?? 30_000,
    scale_up: { triggers: readTriggers(r, ['scaling_rules', 'scale_up', 'triggers']), max_agents_per_type: max },
    scale_down: { triggers: readTriggers(r, ['scaling_rules', 'scale_down', 'triggers']) },
  };
}

function readTriggers(r: TopologyReader, p: Path): ScalingTrigger[] {
  return r.list(p).map((_, i) => {
    const tp: Path = [...p, i];
    r.object(tp, ['metric', 'threshold', 'action', 'type']);
    const metric = r.oneOf([...tp, 'metric'], SCALING_METRICS) ?? r.fail([...tp, 'metric'], 'is required');
    if (!r.has([...tp, 'threshold'])) r.fail([...tp, 'threshold'], 'is required');
    const threshold = metric === 'task_queue_length' ? r.integer([...tp, 'threshold'], 0)! : r.duration([...tp, 'threshold'])!;
    const action = r.matching([...tp, 'action'], /^[a-z][a-z0-9_]*$/, 'an action like spawn_dev_agent, terminate_agent or consolidate_agents') ?? r.fail([...tp, 'action'], 'is required');
    const agentType = r.matching([...tp, 'type'], NAME_PATTERN, NAME_TEXT) ?? /^spawn_([a-z0-9.-]+)_agents?$/.exec(action)?.[1];
    return { metric, threshold, action, ...(agentType ? { agent_type: agentType } : {}) };
  });
}

function readTemplates(r: TopologyReader, defaults: Inherited, baseDir: string, profiles: ProfileSet): Record<string, AgentTemplate> {
  const templates: Record<string, AgentTemplate> = {};
  for (const type of Object.keys(r.map(['templates']))) {
    const p: Path = ['templates', type];
    if (!NAME_PATTERN.test(type)) r.fail(p, `agent types must be ${NAME_TEXT}`);
    r.object(p, ['session', 'role', 'project', 'epic', ...AGENT_FIELDS]);
    const s = settle(r, p, inherit(r, p, defaults, baseDir), profiles);
    templates[type] = {
      type,
      session: r.matching([...p, 'session'], TMUX_NAME, TMUX_NAME_TEXT) ?? r.fail([...p, 'session'], 'is required (the session new agents go into)'),
      role: r.matching([...p, 'role'], NAME_PATTERN, NAME_TEXT) ?? type,
      ...dropUndefined({
        command: s.command, template: s.template, restore_prompt: s.restore_prompt,
        project: r.matching([...p, 'project'], NAME_PATTERN, NAME_TEXT), epic: r.matching([...p, 'epic'], NAME_PATTERN, NAME_TEXT),
      }),
      cwd: s.cwd, env: s.env, deliver: s.deliver, profile: s.profile, policy: s.policy, submit: s.submit, submit_delay: s.submit_delay,
      multiline: s.multiline, hooks: s.hooks, mcp: s.mcp, priority: 'normal',
    };
  }
  return templates;
}

/** What `priorities` may name: the tiers, and the roles and types of the agents and templates. */
function knownPriorityKeys(agents: readonly AgentSpec[], templates: readonly AgentTemplate[]): Set<string> {
  return new Set<string>([...SESSION_TIERS, ...[...agents, ...templates].flatMap((a) => [a.type, a.role])]);
}

/** Each agent's level, once its session's tier is known; a template's tier is its session's when the topology has it, else type and role decide. */
function setPriorities(sessions: SessionSpec[], templates: AgentTemplate[], priorities: Record<string, PriorityLevel>): void {
  for (const session of sessions) {
    for (const pane of session.windows.flatMap((w) => w.panes)) {
      if (pane.agent) pane.agent.priority = priorityOf(priorities, { type: pane.agent.type, role: pane.agent.role, tier: session.tier });
    }
  }
  for (const template of templates) {
    const tier = sessions.find((s) => s.name === template.session)?.tier;
    template.priority = priorityOf(priorities, { type: template.type, role: template.role, tier });
  }
}

function readProjects(r: TopologyReader): Record<string, { tags: string[] }> {
  const projects: Record<string, { tags: string[] }> = {};
  for (const name of Object.keys(r.map(['projects']))) {
    const p: Path = ['projects', name];
    if (!NAME_PATTERN.test(name)) r.fail(p, `project names must be ${NAME_TEXT}`);
    r.object(p, ['tags']);
    projects[name] = { tags: r.stringList([...p, 'tags']) };
  }
  return projects;
}

function dropUndefined<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
