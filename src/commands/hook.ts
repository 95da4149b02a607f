import fs from 'node:fs';
import path from 'node:path';
import { HOOK_CLIS, readHookReport, type HookCli } from '../agents/hook-events.js';
import { writeReportedState } from '../agents/agent-state-store.js';
import { appendReceipt } from '../agents/receipts.js';
import { Layout, resolveRoot } from '../bus/layout.js';
import { isValidName } from '../bus/names.js';
import type { Registry } from '../bus/registry.js';
import { readStateFile } from '../bus/state-file.js';
import type { GlobalOptions } from './context.js';

export interface HookOptions extends GlobalOptions {
  cli?: string;
  agent?: string;
}

/** A hook's stdin is one JSON object; more than this is not one (and must not make the hook slow). */
const MAX_PAYLOAD = 4 * 1024 * 1024;
const STDIN_WAIT_MS = 2000;

/**
 * `bmad-bus hook EVENT [PAYLOAD]`: what an agent CLI runs at its turn
 * boundaries. Records the agent's state and, for a submitted prompt, a
 * receipt; for an agent under delivery mode `hooks`, at a turn end or a
 * prompt, it hands the agent's pending messages to the CLI (its only output,
 * JSON on stdout: agents/hook-handoff.ts). It never blocks or fails the
 * agent: it exits 0, needs no router, and does nothing at all without an
 * agent name (BMAD_AGENT) or a bus root that exists. What goes wrong is
 * written to the bus's log/hook.log, and the CLI gets no output.
 */
export async function hookCommand(eventArg: string, payloadArg: string | undefined, options: HookOptions): Promise<void> {
  process.exitCode = 0;
  let layout: Layout | undefined;
  try {
    const agent = options.agent ?? process.env.BMAD_AGENT;
    if (!agent || !isValidName(agent)) return;
    layout = new Layout(resolveRoot(options.dir));
    if (!fs.existsSync(layout.stateDir)) return; // no bus here: a hook must not make one
    const cli: HookCli = (HOOK_CLIS as readonly string[]).includes(options.cli ?? '') ? (options.cli as HookCli) : 'claude';
    const payload = parsePayload(payloadArg ?? (await readStdin()));
    const report = readHookReport(cli, eventArg, payload);
    const at = new Date().toISOString();
    if (report.prompt !== undefined) appendReceipt(layout, agent, { at, cli, prompt: report.prompt });
    if (report.state) writeReportedState(layout, agent, { state: report.state, at, event: report.event, cli });
    if (deliversByHooks(layout, agent)) {
      // Loaded only here: the hooks of every other agent stay as quick to start as they were.
      const { handOver } = await import('../agents/hook-handoff.js');
      const answer = await handOver(layout, agent, { cli, event: report.event, continued: payload.stop_hook_active === true });
      if (answer !== undefined) process.stdout.write(`${answer}\n`);
    }
  } catch (error) {
    logFailure(layout, eventArg, error);
  }
}

/** Whether the agent is registered under delivery mode `hooks` (the registry read as it is, without its module's weight). */
function deliversByHooks(layout: Layout, agent: string): boolean {
  return readStateFile<Partial<Registry>>(layout.registryFile, {}).agents?.[agent]?.deliver === 'hooks';
}

function parsePayload(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const value: unknown = JSON.parse(text);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Stdin up to MAX_PAYLOAD, or what came within STDIN_WAIT_MS (a CLI that keeps stdin open must not hang the hook). */
function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      clearTimeout(timer);
      process.stdin.removeAllListeners();
      process.stdin.destroy();
      resolve(size > MAX_PAYLOAD ? '' : Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(done, STDIN_WAIT_MS);
    process.stdin.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped: closing early would hand the CLI an EPIPE.
      if (size <= MAX_PAYLOAD) chunks.push(chunk);
      else chunks.length = 0;
    });
    process.stdin.on('end', done);
    process.stdin.on('error', done);
  });
}

function logFailure(layout: Layout | undefined, event: string, error: unknown): void {
  if (!layout) return;
  try {
    fs.appendFileSync(path.join(layout.logDir, 'hook.log'), `${new Date().toISOString()} hook ${event}: ${(error as Error)?.message ?? String(error)}\n`, { mode: 0o600 });
  } catch {
    // Nowhere to say it (a full disk, no log dir): the agent must not notice either way.
  }
}
