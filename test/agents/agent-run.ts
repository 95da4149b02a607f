// One real agent CLI run as a bus agent, for the real-CLI suites: the fake model, a bus root, the
// CLI in a pane with its hooks installed, registered, and a router delivering to it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Envelope } from '../../src/bus/envelope.js';
import type { DeliveryMode } from '../../src/bus/registry.js';
import { ProfileSet } from '../../src/agents/profiles.js';
import type { MessageTrace } from '../../src/client/trace.js';
import { renderMessage } from '../../src/tmux/render.js';
import { cli, startRouter, type RunningRouter } from '../helpers/bus.js';
import type { CliName } from './agents-cache.js';
import { FakeModel } from './fake-model.js';
import { AgentPane } from './harness.js';

/** A turn as compared: whitespace runs are one space; the tags Claude Code wraps a long paste in (`<pasted_content id="N">`) are the CLI's, not the message's. */
export const norm = (t: string) => t.replace(/<\/?pasted_content[^>]*>/g, '').replace(/\s+/g, ' ').trim();

export interface RunOptions {
  deliver: DeliveryMode;
  /** More `agents add` arguments (`--submit Space`). */
  addArgs?: string[];
}

export interface Run {
  pane: AgentPane;
  model: FakeModel;
  base: string[];
  root: string;
  /** Sends one message from `lead` to the agent; its envelope. */
  send(body: string): Promise<Envelope>;
  /** The `delivery_unconfirmed` events journaled so far. */
  unconfirmed(): Promise<Envelope[]>;
  /** What the rendered message looks like as a turn (by the CLI's profile). */
  expected(sent: Envelope[]): string[];
  /** The trace of a message (`bmad-bus trace ID --json`). */
  trace(id: string): Promise<MessageTrace>;
  /** Why the agent's messages wait, by `status` ('' when they do not). */
  waiting(): Promise<string>;
}

/** The CLIs whose hooks bmad-bus installs (opencode has plugins, not hooks). */
export const HOOKED: readonly CliName[] = ['claude', 'codex', 'gemini', 'qwen'];

/**
 * One CLI in a pane, registered as `<name>-1` at default settings (`--profile auto`, no
 * `--command`: the profile comes from the pane's processes) under `options.deliver`, with its
 * hooks installed as `up` installs them, a router delivering to it; all ended afterwards.
 */
export async function withAgent(name: CliName, options: RunOptions, body: (run: Run) => Promise<void>): Promise<void> {
  const model = await new FakeModel().start();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `bmad-deliver-${name}-`));
  const root = path.join(tmp, 'bus');
  const agent = `${name}-1`;
  let pane: AgentPane | undefined;
  let router: RunningRouter | undefined;
  try {
    assert.equal((await cli(['init', '--dir', root])).code, 0);
    pane = await AgentPane.start(name, {
      url: model.url,
      readyTimeoutMs: 120_000,
      env: { BMAD_AGENT: agent, BMAD_BUS_DIR: root },
      prepare: async (launch) => {
        if (!HOOKED.includes(name)) return;
        const scope = name === 'codex' ? 'user' : 'project';
        const installed = await cli(['hooks', 'install', '--cli', name, '--scope', scope, '--cwd', launch.cwd], { env: { ...process.env, HOME: launch.home, CODEX_HOME: launch.env.CODEX_HOME ?? '' } });
        assert.equal(installed.code, 0, installed.stderr);
      },
    });
    const base = ['--dir', root, '--tmux-socket', pane.socket];
    const added = await cli(['agents', 'add', agent, '--tmux', 'agent:0.0', '--deliver', options.deliver, ...(options.addArgs ?? []), ...base]);
    assert.equal(added.code, 0, added.stderr);
    router = await startRouter(root, ['--tmux-socket', pane.socket]);
    const profile = new ProfileSet().get(name)!;
    await body({
      pane,
      model,
      base,
      root,
      send: async (text) => {
        const r = await cli(['send', agent, text, '--from', 'lead', '--json', ...base]);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as Envelope;
      },
      unconfirmed: async () => (await cli(['tail', '--no-follow', '--json', '--type', 'event', ...base])).stdout.split('\n').filter(Boolean)
        .map((l) => JSON.parse(l) as Envelope).filter((e) => (e.body as { event?: string })?.event === 'delivery_unconfirmed'),
      expected: (sent) => sent.map((e) => norm(renderMessage(e, undefined, profile.multiline))),
      waiting: async () => {
        const status = JSON.parse((await cli(['status', '--json', ...base])).stdout) as { agents: Array<{ name: string; waiting?: string; state?: string }> };
        const me = status.agents.find((a) => a.name === agent);
        return `${me?.waiting ?? ''} (state ${me?.state ?? '-'})`;
      },
      trace: async (id) => {
        const r = await cli(['trace', id, '--json', ...base]);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as MessageTrace;
      },
    });
  } catch (error) {
    // What the router did is the first thing to read when a case fails.
    const log = path.join(root, 'log', 'router.log');
    if (fs.existsSync(log)) console.error(`${name}: router log:\n${fs.readFileSync(log, 'utf8').split('\n').slice(-40).join('\n')}`);
    // Then each message's steps: typed, submitted, nudged, handed, received.
    const trail = path.join(root, 'state', 'trails', `${agent}.ndjson`);
    if (fs.existsSync(trail)) console.error(`${name}: trail:\n${fs.readFileSync(trail, 'utf8').split('\n').slice(-40).join('\n')}`);
    throw error;
  } finally {
    await router?.stop();
    await pane?.close();
    await model.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

