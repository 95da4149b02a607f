// A fake model server for the agent-CLI tests, on 127.0.0.1 only. It speaks enough of four wire
// formats to drive Claude Code, Codex, Gemini CLI, Qwen Code and opencode, logs every request and
// keeps the oracle of the tests: the distinct user turns the model received, in order.
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import zlib from 'node:zlib';
import { anthropic } from './wire/anthropic.js';
import { chat } from './wire/chat.js';
import { gemini } from './wire/gemini.js';
import { responses } from './wire/responses.js';
import { sendJson } from './wire/sse.js';
import { pickShellTool, shellCall } from './wire/tool-call.js';
import { toolResults } from './wire/tool-results.js';
import { TurnLog } from './wire/turns.js';
import { asObject, type Reply, type ToolDecl, type WireFormat } from './wire/types.js';

/** How the model answers the CLI's main requests (side requests always get a quick text). */
export type Mode =
  | { kind: 'fast'; text?: string }
  | { kind: 'slow'; seconds: number; text?: string }
  | { kind: 'tool'; command?: string }
  /** 429s; `daily` asks for a quota that is used up for the day rather than a per-minute limit. */
  | { kind: 'rate-limit'; daily?: boolean }
  /**
   * An outage, until the test sets another mode: `500` answers an API error, `drop` closes the
   * connection without an answer, `limit` is a 429 that names its reset time (`resetAt`, seconds
   * since the epoch) in its message and in Anthropic's unified rate-limit headers (other formats
   * get their 429). A `limit` answers normally again from `resetAt` on, as a real limit ends at its
   * reset; give it on a whole minute, as the message shows minutes.
   */
  | { kind: 'outage'; how: '500' | 'drop' | 'limit'; resetAt?: number }
  /**
   * Scripted tool calls (MCP tools, say): each main request gets the next step's call, of the
   * offered tool whose name matches (Claude names MCP tools `mcp__<server>__<tool>`), then
   * `text` once the steps are used up. A step whose tool is not offered is not taken: the
   * answer says so and `scriptMisses` records it.
   */
  | { kind: 'script'; steps: ScriptStep[]; text?: string };

export interface ScriptStep {
  tool: RegExp;
  args: Record<string, unknown>;
}

export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  format?: WireFormat['name'];
  /** A request without tools: title generation, a quota probe, a next-speaker check. */
  side: boolean;
  body: unknown;
  turns: string[];
  fresh: string[];
  status: number;
}

export interface FakeModelOptions {
  mode?: Mode;
  /** Appends each request as one JSON line, for looking at what a CLI sent. */
  logPath?: string;
}

// Outside the project, so that every CLI asks before running it (inside, several just run it).
const DEFAULT_TOOL_COMMAND = 'touch ../bmad-fake-model-was-here';

const ROUTES: [RegExp, WireFormat, boolean][] = [
  [/\/messages(\?|$)/, anthropic, true],
  [/\/responses(\?|$)/, responses, true],
  [/\/chat\/completions(\?|$)/, chat, true],
  [/:streamGenerateContent/, gemini, true],
  [/:generateContent/, gemini, false],
];

export class FakeModel {
  mode: Mode;
  readonly requests: LoggedRequest[] = [];
  readonly turnLog = new TurnLog();
  /** Script steps whose tool a request did not offer: the step, and the tool names it did offer. */
  readonly scriptMisses: Array<{ step: number; tool: string; offered: string[] }> = [];
  readonly #scriptAt = new WeakMap<object, number>();
  readonly #server: http.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #logPath: string | undefined;
  readonly #waiters = new Set<() => void>();
  #closing: Promise<void> | undefined;
  #port = 0;

  constructor(options: FakeModelOptions = {}) {
    this.mode = options.mode ?? { kind: 'fast' };
    this.#logPath = options.logPath;
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  /** Listens on a free port of 127.0.0.1. */
  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Every distinct tool result the CLIs sent back, in order of arrival. */
  get toolResults(): string[] {
    return [...new Set(this.requests.filter((r) => !r.side).flatMap((r) => toolResults(r.body)))];
  }

  get userTurns(): readonly string[] {
    return this.turnLog.turns;
  }

  /** Resolves once `count` user turns arrived (or the time is up: then the caller's assertion tells). */
  async waitForTurns(count: number, timeoutMs: number): Promise<readonly string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.userTurns.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(250, Math.max(0, deadline - Date.now())));
        const waiters = this.#waiters;
        function done() {
          clearTimeout(t);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
    return this.userTurns;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const t of this.#timers) clearTimeout(t);
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
    return this.#closing;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const entry: LoggedRequest = { at: Date.now(), method: req.method ?? 'GET', path, side: true, body: undefined, turns: [], fresh: [], status: 200 };
    try {
      entry.body = parseBody(await readBody(req), String(req.headers['content-encoding'] ?? ''));
      const route = req.method === 'POST' ? ROUTES.find(([re]) => re.test(path)) : undefined;
      if (route && !/count_tokens|:countTokens/.test(path)) {
        await this.#answer(entry, route[1], route[2] && streamWanted(route[1], entry.body, path), res);
      } else {
        entry.status = answerHousekeeping(path, res);
      }
    } catch (err) {
      entry.status = 500;
      if (!res.headersSent) sendJson(res, 500, { error: { message: `fake model: ${String(err)}` } });
      else res.destroy();
    } finally {
      this.requests.push(entry);
      if (this.#logPath) fs.appendFileSync(this.#logPath, JSON.stringify(entry) + '\n');
      for (const w of [...this.#waiters]) w();
    }
  }

  async #answer(entry: LoggedRequest, format: WireFormat, stream: boolean, res: http.ServerResponse): Promise<void> {
    const tools = format.tools(entry.body);
    entry.format = format.name;
    entry.side = tools.length === 0;
    if (!entry.side) {
      entry.turns = format.userTurns(entry.body);
      entry.fresh = this.turnLog.add(entry.turns);
    }
    const mode: Mode = entry.side ? { kind: 'fast' } : this.mode;
    if (mode.kind === 'rate-limit') {
      entry.status = 429;
      format.rateLimit(res, mode.daily === true);
      return;
    }
    // A usage limit ends at its reset time, by itself.
    if (mode.kind === 'outage' && !(mode.how === 'limit' && mode.resetAt !== undefined && Date.now() >= mode.resetAt * 1000)) {
      this.#outage(entry, format, mode, res);
      return;
    }
    if (mode.kind === 'slow') await this.#sleep(mode.seconds * 1000, res);
    if (res.destroyed) return;
    format.reply(res, entry.body, this.#replyFor(entry, format, tools, mode), stream);
  }

  #replyFor(entry: LoggedRequest, format: WireFormat, tools: ToolDecl[], mode: Mode): Reply {
    if (entry.side) return { kind: 'text', text: sideText(entry.body) };
    if (mode.kind === 'script') return this.#scripted(mode, tools);
    if (mode.kind !== 'tool') return { kind: 'text', text: (mode.kind === 'rate-limit' || mode.kind === 'outage' ? undefined : mode.text) ?? 'OK from the fake model.' };
    // Once the CLI sends the tool's result (run or refused), the turn ends with a text.
    const shell = format.endsWithToolResult(entry.body) ? undefined : pickShellTool(tools);
    if (!shell) return { kind: 'text', text: 'Done (fake model, after the tool call).' };
    return shellCall(shell, mode.command ?? DEFAULT_TOOL_COMMAND, `call_fake_${this.requests.length}`);
  }

  #scripted(mode: Extract<Mode, { kind: 'script' }>, tools: ToolDecl[]): Reply {
    const at = this.#scriptAt.get(mode) ?? 0;
    const step = mode.steps[at];
    if (!step) return { kind: 'text', text: mode.text ?? 'Done (fake model, end of the script).' };
    const full = (t: ToolDecl): string => (t.namespace ? `${t.namespace}__${t.name}` : t.name);
    const tool = tools.find((t) => step.tool.test(full(t)));
    if (!tool) {
      this.scriptMisses.push({ step: at, tool: String(step.tool), offered: tools.map(full) });
      return { kind: 'text', text: `fake model: no tool matching ${String(step.tool)} is offered` };
    }
    this.#scriptAt.set(mode, at + 1);
    return { kind: 'tool', id: `call_fake_${this.requests.length}`, name: tool.name, args: step.args, ...(tool.namespace ? { namespace: tool.namespace } : {}) };
  }

  #outage(entry: LoggedRequest, format: WireFormat, mode: Extract<Mode, { kind: 'outage' }>, res: http.ServerResponse): void {
    if (mode.how === 'drop') {
      entry.status = 0;
      res.socket?.destroy();
      return;
    }
    if (mode.how === '500') {
      entry.status = 500;
      sendJson(res, 500, { type: 'error', error: { type: 'api_error', message: 'Fake outage: internal server error' } });
      return;
    }
    entry.status = 429;
    if (format.name !== 'anthropic') {
      format.rateLimit(res, false);
      return;
    }
    const resetAt = mode.resetAt ?? Math.round(Date.now() / 1000) + 60;
    const reset = String(resetAt);
    // The message names the reset as Anthropic's usage-limit messages do, so the CLI shows it.
    const message = `Fake usage limit reached · resets ${clockUtc(resetAt)} (UTC)`;
    sendJson(res, 429, { type: 'error', error: { type: 'rate_limit_error', message } }, {
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-reset': reset,
      'anthropic-ratelimit-unified-representative-claim': 'five_hour',
      'anthropic-ratelimit-unified-5h-status': 'rejected',
      'anthropic-ratelimit-unified-5h-reset': reset,
    });
  }

  // A slow answer ends early when the CLI gives up (Esc) or the server closes.
  #sleep(ms: number, res: http.ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(finish, ms);
      this.#timers.add(t);
      res.once('close', finish);
      const timers = this.#timers;
      function finish() {
        clearTimeout(t);
        timers.delete(t);
        resolve();
      }
    });
  }
}

/** `3:15pm`: a time in seconds since the epoch as a clock in UTC. */
function clockUtc(seconds: number): string {
  const d = new Date(seconds * 1000);
  const h = d.getUTCHours();
  return `${h % 12 === 0 ? 12 : h % 12}:${String(d.getUTCMinutes()).padStart(2, '0')}${h < 12 ? 'am' : 'pm'}`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(raw: Buffer, encoding: string): unknown {
  if (raw.length === 0) return undefined;
  let bytes = raw;
  if (encoding === 'gzip') bytes = zlib.gunzipSync(raw);
  else if (encoding === 'br') bytes = zlib.brotliDecompressSync(raw);
  else if (encoding === 'deflate') bytes = zlib.inflateSync(raw);
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function streamWanted(format: WireFormat, body: unknown, path: string): boolean {
  if (format.name === 'gemini' || format.name === 'responses') return true;
  return asObject(body).stream === true || /alt=sse/.test(path);
}

// Side calls that expect JSON (Gemini's and Qwen's next-speaker check) get JSON that says "the user".
function sideText(body: unknown): string {
  const b = asObject(body);
  const wantsJson = asObject(b.generationConfig).responseMimeType === 'application/json' || asObject(b.response_format).type !== undefined || asObject(b.config).responseMimeType === 'application/json';
  return wantsJson ? JSON.stringify({ reasoning: 'The fake model has finished its turn.', next_speaker: 'user' }) : 'Fake title';
}

// Start-up calls: model lists, token counts, anything else. Minimal valid JSON keeps CLIs going.
function answerHousekeeping(path: string, res: http.ServerResponse): number {
  if (/count_tokens/.test(path)) return sendJson(res, 200, { input_tokens: 10 }), 200;
  if (/:countTokens/.test(path)) return sendJson(res, 200, { totalTokens: 10 }), 200;
  if (/\/models(\?|$)/.test(path)) {
    return sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }], models: [{ name: 'models/fake-model', displayName: 'Fake', supportedGenerationMethods: ['generateContent'] }] }), 200;
  }
  sendJson(res, 404, { error: { message: `fake model: nothing at ${path}` } });
  return 404;
}
