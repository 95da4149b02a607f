import { BusError, UsageError } from '../bus/errors.js';
import { parseDuration } from '../bus/duration.js';
import { formatSeconds } from '../bus/human-format.js';
import { getAgent } from '../bus/registry.js';
import { openRoot } from '../bus/root.js';
import { TmuxClient } from '../tmux/client.js';
import { DEFAULT_EXEC_TIMEOUT_MS, execInPane, type ExecResult } from '../tmux/exec.js';
import { resolvePaneId } from '../tmux/pane-info.js';
import { shellCommandLine } from '../tmux/quote.js';
import { printJson, printLine, rootOf, tmuxSocketOf, type GlobalOptions } from './context.js';

export interface ExecCommandOptions {
  timeout?: string;
  parallel?: boolean;
  json?: boolean;
  interrupt?: boolean;
}

/** One result of `exec --parallel`: a finished command, or why it could not run or finish. */
export type ExecOutcome = { agent: string; command: string } & ({ ok: true; result: ExecResult } | { ok: false; error: string });

/**
 * `bmad-bus exec AGENT -- COMMAND...` and `bmad-bus exec --parallel 'AGENT: COMMAND'...`.
 * A single exec prints the command's output and exits with its exit code.
 */
export async function execCommand(args: string[], options: GlobalOptions & ExecCommandOptions): Promise<void> {
  const timeoutMs = options.timeout !== undefined ? parseDuration(options.timeout, '--timeout') : DEFAULT_EXEC_TIMEOUT_MS;
  const specs = options.parallel ? args.map(parseSpec) : [singleSpec(args)];
  const layout = openRoot(rootOf(options));
  const clients = new Map<string, TmuxClient>();
  const clientFor = (socket: string | undefined): TmuxClient => {
    let client = clients.get(socket ?? '');
    if (!client) {
      // One process per tmux command: exec is short-lived, a control client would attach to a session for nothing.
      client = new TmuxClient({ socket, mode: 'plain' });
      clients.set(socket ?? '', client);
    }
    return client;
  };
  const runOne = async (spec: { agent: string; command: string }): Promise<ExecResult> => {
    const target = await resolveTarget(layout, spec.agent, tmuxSocketOf(options), clientFor);
    return execInPane(target.client, target.pane, spec.command, {
      timeoutMs,
      label: spec.agent,
      ...(options.interrupt ? { interruptOnTimeout: true } : {}),
    });
  };
  try {
    if (!options.parallel) {
      const result = await runOne(specs[0]!);
      if (options.json) printJson({ agent: specs[0]!.agent, ...result });
      else if (result.output !== '') printLine(result.output);
      process.exitCode = result.exitCode;
      return;
    }
    const outcomes: ExecOutcome[] = await Promise.all(
      specs.map(async (spec): Promise<ExecOutcome> => {
        try {
          return { ...spec, ok: true, result: await runOne(spec) };
        } catch (error) {
          if (!(error instanceof BusError)) throw error;
          return { ...spec, ok: false, error: error.message };
        }
      }),
    );
    if (options.json) printJson(outcomes);
    else printParallel(outcomes);
    process.exitCode = parallelExitCode(outcomes);
  } finally {
    for (const client of clients.values()) client.close();
  }
}

/** 0 when every command succeeded; else the exit code of the first that did not (1 for one that could not run or finish). */
export function parallelExitCode(outcomes: readonly ExecOutcome[]): number {
  for (const o of outcomes) {
    if (!o.ok) return 1;
    if (o.result.exitCode !== 0) return o.result.exitCode;
  }
  return 0;
}

function printParallel(outcomes: readonly ExecOutcome[]): void {
  for (const o of outcomes) {
    const head = o.ok
      ? `== ${o.agent}: ${o.command}  (exit ${o.result.exitCode}, ${formatSeconds(o.result.durationMs)}${o.result.truncated ? ', output truncated' : ''})`
      : `== ${o.agent}: ${o.command}  (error)`;
    printLine(head);
    if (o.ok) {
      if (o.result.output !== '') printLine(o.result.output);
    } else printLine(`bmad-bus: ${o.error}`);
  }
}

/** `AGENT: COMMAND` (the first `:` followed by a space or the end separates them; tmux targets have no space after theirs). */
export function parseSpec(text: string): { agent: string; command: string } {
  const match = /^\s*([^\s]+?):(?:\s+|$)([\s\S]*)$/.exec(text);
  if (!match || match[2]!.trim() === '') {
    throw new UsageError(`Expected --parallel arguments like 'AGENT: COMMAND', got \`${text}\``);
  }
  return { agent: match[1]!, command: match[2]!.trim() };
}

/**
 * `AGENT -- WORDS...`: one word is a shell command line as written
 * (`-- 'make && make test'`); several words are a program and its arguments,
 * each quoted for the shell, so `-- sh -c 'exit 3'` runs exactly those three words.
 */
export function singleSpec(args: string[]): { agent: string; command: string } {
  const [agent, ...words] = args;
  if (!agent || words.length === 0) {
    throw new UsageError("Expected `bmad-bus exec AGENT -- COMMAND...` (or --parallel 'AGENT: COMMAND' ...)");
  }
  return { agent, command: words.length === 1 ? words[0]! : shellCommandLine(words) };
}

/** An agent's pane (its own tmux server), or a raw tmux target (`%12`, `session:window.pane`) on the selected server. */
async function resolveTarget(
  layout: ReturnType<typeof openRoot>,
  name: string,
  socket: string | undefined,
  clientFor: (socket: string | undefined) => TmuxClient,
): Promise<{ client: TmuxClient; pane: string }> {
  if (name.startsWith('%') || name.includes(':')) {
    const client = clientFor(socket);
    const pane = await resolvePaneId(client, name);
    if (!pane) throw new UsageError(`No tmux pane \`${name}\``);
    return { client, pane };
  }
  const agent = getAgent(layout, name);
  if (!agent.tmux) throw new UsageError(`Agent \`${name}\` has no tmux pane (delivery ${agent.deliver})`);
  const client = clientFor(agent.tmux_socket ?? socket);
  const pane = await resolvePaneId(client, agent.tmux);
  if (!pane) throw new UsageError(`The pane of \`${name}\` (${agent.tmux}) is gone`);
  return { client, pane };
}
