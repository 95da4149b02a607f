import fs from 'node:fs';
import path from 'node:path';
import { cli } from './helpers/bus.js';

/**
 * A tiny agent for supervisor tests: appends `START` and then every line it
 * reads to `$AGENT_LOG_DIR/$BMAD_AGENT.log`. `AGENT_MODE=crash` exits at once
 * (an agent that dies every time), `busy` spins a core (a resource hog).
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
readline.createInterface({ input: process.stdin, terminal: false }).on('line', (line) => fs.appendFileSync(log, line + '\\n'));
`;

/** Writes agent.mjs and team.yaml (the given YAML) into `dir`; returns the team file's path. */
export function writeTeam(dir: string, yaml: string): string {
  fs.writeFileSync(path.join(dir, 'agent.mjs'), AGENT_SOURCE);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const file = path.join(dir, 'team.yaml');
  fs.writeFileSync(file, yaml);
  return file;
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

export interface JournalEntry {
  id: string;
  from: string;
  to: string;
  type: string;
  rcpt?: string;
  body: unknown;
}

/** Every message in the journal, oldest first. */
export async function journal(base: string[]): Promise<JournalEntry[]> {
  const result = await cli(['tail', '--no-follow', '-n', '100000', '--json', ...base]);
  return result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalEntry);
}

export function events(entries: JournalEntry[], kind?: string): Array<Record<string, unknown>> {
  return entries
    .filter((e) => e.type === 'event' && e.from === 'supervisor')
    .map((e) => e.body as Record<string, unknown>)
    .filter((b) => kind === undefined || b.event === kind);
}
