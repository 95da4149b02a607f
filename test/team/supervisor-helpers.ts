import fs from 'node:fs';
import path from 'node:path';
import { Layout } from '../../src/bus/layout.js';
import { Supervisor, type SupervisorEvent, type SupervisorOptions } from '../../src/team/supervisor.js';
import { loadTopology } from '../../src/team/topology.js';
import { cli, waitFor } from '../helpers/bus.js';
import type { JournalEntry, TmuxBed } from '../helpers/tmux.js';

/**
 * A tiny agent for supervisor tests: appends `START` and then every line it
 * reads to `$AGENT_LOG_DIR/$BMAD_AGENT.log`. `AGENT_MODE=crash` exits at once
 * (an agent that dies every time), `busy` spins a core (a resource hog). The
 * line `FILL <percent>` makes it hold memory up to that share of
 * `AGENT_MEMORY_LIMIT_MB`, `KILL` makes it SIGKILL itself.
 */
export const AGENT_SOURCE = `
import fs from 'node:fs';
import readline from 'node:readline';
const log = process.env.AGENT_LOG_DIR + '/' + process.env.BMAD_AGENT + '.log';
fs.appendFileSync(log, 'START\\n');
if (process.env.AGENT_MODE === 'crash') process.exit(3);
console.log('agent ' + process.env.BMAD_AGENT + ' ready');
if (process.env.AGENT_MODE === 'busy') {
  const spin = () => { const end = Date.now() + 200; while (Date.now() < end) {} setImmediate(spin); };
  spin();
}
// FILL <percent>: hold memory until the process's RSS is that share of AGENT_MEMORY_LIMIT_MB (a leak); KILL: SIGKILL itself (as the OOM killer would).
const held = [];
const fill = (percent) => {
  const target = Number(process.env.AGENT_MEMORY_LIMIT_MB) * 1024 * 1024 * percent / 100;
  while (process.memoryUsage().rss < target) held.push(Buffer.alloc(1024 * 1024, 1));
  fs.appendFileSync(log, 'FILLED ' + Math.round(process.memoryUsage().rss / 1048576) + 'MB\\n');
};
readline.createInterface({ input: process.stdin, terminal: false }).on('line', (line) => {
  fs.appendFileSync(log, line + '\\n');
  const m = /^FILL (\\d+)$/.exec(line.trim());
  if (m) fill(Number(m[1]));
  if (line.trim() === 'KILL') process.kill(process.pid, 'SIGKILL');
});
`;

/**
 * The `defaults:` block of a team of such agents: `node agent.mjs` in `dir`,
 * logging into `dir/logs`, with a short submit delay; `extra` adds fields.
 */
export function agentDefaults(dir: string, extra: Record<string, string> = {}): string {
  const fields = {
    command: 'node agent.mjs', cwd: '.', submit_delay: '30ms', ...extra, env: `{ AGENT_LOG_DIR: ${JSON.stringify(path.join(dir, 'logs'))} }`,
  };
  return ['defaults:', ...Object.entries(fields).map(([k, v]) => `  ${k}: ${v}`)].join('\n');
}

/** Writes agent.mjs and team.yaml (the given YAML) into `dir`; returns the team file's path. */
export function writeTeam(dir: string, yaml: string): string {
  fs.writeFileSync(path.join(dir, 'agent.mjs'), AGENT_SOURCE);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const file = path.join(dir, 'team.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/** Waits until each agent has started at least once. */
export async function agentsStarted(dir: string, names: string[], timeoutMs = 10_000): Promise<void> {
  await waitFor(() => names.every((name) => agentLog(dir, name).includes('START')), timeoutMs, `${names.join(', ')} started`);
}

/** The lines an agent has read so far (with a `START` line per start). */
export function agentLog(dir: string, agent: string): string[] {
  try {
    return fs.readFileSync(path.join(dir, 'logs', `${agent}.log`), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export interface AgentJson {
  name: string;
  role?: string;
  status?: string;
  tmux?: string;
}

export async function agents(base: string[]): Promise<Record<string, AgentJson>> {
  const result = await cli(['agents', '--json', ...base]);
  const list = JSON.parse(result.stdout) as AgentJson[] | { agents: AgentJson[] };
  const array = Array.isArray(list) ? list : list.agents;
  return Object.fromEntries(array.map((a) => [a.name, a]));
}

/** Waits until the registry says `status` for the agent. */
export async function waitForStatus(base: string[], name: string, status: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await agents(base))[name]?.status === status, timeoutMs, `${name} ${status}`);
}

/** The supervisor as a library on a bed's bus and server, with what it said; closed with the bed. Not started yet. */
export interface LibrarySupervisor {
  supervisor: Supervisor;
  /** Every event, in order. */
  seen: SupervisorEvent[];
  /** Every log line, in order. */
  logged: string[];
}

export function librarySupervisor(bed: TmuxBed, file: string, options: Partial<SupervisorOptions> = {}): LibrarySupervisor {
  const seen: SupervisorEvent[] = [];
  const logged: string[] = [];
  const supervisor = new Supervisor(new Layout(bed.root), {
    topology: loadTopology(file), socket: bed.tmux.socket, log: (line) => logged.push(line), ...options,
  });
  supervisor.on('event', (event) => seen.push(event));
  bed.onClose(() => supervisor.close());
  return { supervisor, seen, logged };
}

/** Waits until the supervisor has finished `count` more passes: its own progress, not the test's clock. */
export function passes(supervisor: Supervisor, count: number): Promise<void> {
  return new Promise((resolve) => {
    let left = count;
    const onTick = (): void => {
      if (--left > 0) return;
      supervisor.off('tick', onTick);
      resolve();
    };
    supervisor.on('tick', onTick);
  });
}

export function events(entries: JournalEntry[], kind?: string): Array<Record<string, unknown>> {
  return entries
    .filter((e) => e.type === 'event' && e.from === 'supervisor')
    .map((e) => e.body as Record<string, unknown>)
    .filter((b) => kind === undefined || b.event === kind);
}
