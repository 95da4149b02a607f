import { TmuxError } from '../bus/errors.js';
import { ControlClient } from './control-client.js';
import { refuseCondition, type PaneOwner } from './pane-owner.js';
import { runTmux } from './plain.js';
import { DEFAULT_TMUX_TIMEOUT_MS } from './socket-args.js';

/** `control`: only the control-mode client; `plain`: one process per command; `auto`: control, else plain. */
export type TmuxMode = 'auto' | 'control' | 'plain';

export interface TmuxClientOptions {
  /** tmux `-L` socket name; undefined is the user's default server. */
  socket?: string | undefined;
  mode?: TmuxMode | undefined;
  timeoutMs?: number | undefined;
}

/** How long `auto` waits before trying control mode again after it failed. */
const RECONNECT_AFTER_MS = 1000;
/** set-buffer data per control-mode command line; longer texts are appended in pieces. */
const CHUNK_CHARS = 8192;

/**
 * The tmux client the rest of bmad-bus uses: every call goes to one server
 * (`-L socket`), with a time limit. In `auto` mode commands go over a
 * long-lived control-mode client when one can attach, and fall back to
 * spawning `tmux` when it cannot (no session yet, the client died).
 */
export class TmuxClient {
  readonly socket: string | undefined;
  readonly mode: TmuxMode;
  private readonly timeoutMs: number;
  private control: ControlClient | undefined;
  private connecting: Promise<ControlClient | undefined> | undefined;
  private retryAt = 0;
  private closed = false;

  constructor(options: TmuxClientOptions = {}) {
    this.socket = options.socket;
    this.mode = options.mode ?? 'auto';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TMUX_TIMEOUT_MS;
  }

  /** True when the last command went (or the next will go) over control mode. */
  get usingControl(): boolean {
    return this.control?.isOpen ?? false;
  }

  /** Runs a tmux command; resolves with its stdout (no final newline), throws TmuxError. */
  async command(args: string[], blocks = 1): Promise<string> {
    const control = await this.controlClient();
    if (control) {
      try {
        return await control.command(args, this.timeoutMs, blocks);
      } catch (error) {
        // A command error (%error) is tmux's answer; a closed client means try the plain way.
        if (control.isOpen || this.mode === 'control') throw error;
      }
    }
    return runTmux(args, { socket: this.socket, timeoutMs: this.timeoutMs });
  }

  /**
   * Pastes a named buffer into a pane (`-p` bracketed if the program asked for
   * it, `-r` keeps LF, `-d` deletes the buffer), but never into a dead pane:
   * tmux 3.3a crashes — the whole server, every session of the user — on
   * `paste-buffer` into a pane whose program has exited (measured here:
   * every time). With an `owner`, never into a pane that is not the owner's
   * either (pane-owner.ts). The check and the paste run in one command, so
   * the server decides both in the same turn of its event loop.
   *
   * Resolves true when it pasted, false when the pane was refused (the buffer
   * is deleted either way).
   */
  async pasteBuffer(buffer: string, paneId: string, owner?: PaneOwner): Promise<boolean> {
    if (!SAFE_BUFFER.test(buffer) || !PANE_ID.test(paneId)) {
      throw new TmuxError(`Refusing to paste buffer ${JSON.stringify(buffer)} into ${JSON.stringify(paneId)}: expected a pane id like %12`);
    }
    const pasted = await this.guarded(paneId, owner, `paste-buffer -d -p -r -b ${buffer} -t ${paneId}`);
    if (!pasted) await this.tryCommand(['delete-buffer', '-b', buffer]);
    return pasted;
  }

  /**
   * Presses one key (by name, never text) in a pane; with an `owner`, only if
   * the pane is alive and the owner's, checked in the same command. Resolves
   * false when refused.
   */
  async sendKey(paneId: string, key: string, owner?: PaneOwner): Promise<boolean> {
    if (!owner) {
      await this.command(['send-keys', '-t', paneId, key]);
      return true;
    }
    if (!PANE_ID.test(paneId) || !KEY_NAME.test(key)) {
      throw new TmuxError(`Refusing to send ${JSON.stringify(key)} to ${JSON.stringify(paneId)}: expected a pane id like %12 and a key name`);
    }
    return this.guarded(paneId, owner, `send-keys -t ${paneId} ${key}`);
  }

  /** Runs `action` only when refuseCondition(owner) is false for the pane, in one server-side if-shell. */
  private async guarded(paneId: string, owner: PaneOwner | undefined, action: string): Promise<boolean> {
    // In control mode the command if-shell chooses is answered in a block of its own: two blocks.
    const out = await this.command(['if-shell', '-F', '-t', paneId, refuseCondition(owner), `display-message -p ${REFUSED}`, action], 2);
    return !out.split('\n').includes(REFUSED);
  }

  /** Like command, but a failure is undefined (a pane that may be gone). */
  async tryCommand(args: string[]): Promise<string | undefined> {
    try {
      return await this.command(args);
    } catch (error) {
      if (error instanceof TmuxError) return undefined;
      throw error;
    }
  }

  /** Puts `data` into the named paste buffer, byte for byte. */
  async setBuffer(name: string, data: string): Promise<void> {
    const control = await this.controlClient();
    if (control) {
      try {
        const chunks = splitChunks(data);
        for (let i = 0; i < chunks.length; i++) {
          await control.command(['set-buffer', ...(i > 0 ? ['-a'] : []), '-b', name, '--', chunks[i]!], this.timeoutMs);
        }
        return;
      } catch (error) {
        if (control.isOpen || this.mode === 'control') throw error;
      }
    }
    // Plain: the text travels on stdin, never on a command line.
    await runTmux(['load-buffer', '-b', name, '-'], { socket: this.socket, input: data, timeoutMs: this.timeoutMs });
  }

  close(): void {
    this.closed = true;
    this.control?.close();
    this.control = undefined;
  }

  private async controlClient(): Promise<ControlClient | undefined> {
    if (this.mode === 'plain' || this.closed) return undefined;
    if (this.control?.isOpen) return this.control;
    if (this.connecting) return this.connecting;
    if (this.mode === 'auto' && Date.now() < this.retryAt) return undefined;
    this.connecting = (async () => {
      const client = new ControlClient({ socket: this.socket, timeoutMs: this.timeoutMs });
      try {
        await client.connect();
        this.control = client;
        return client;
      } catch (error) {
        client.close();
        this.retryAt = Date.now() + RECONNECT_AFTER_MS;
        if (this.mode === 'control') throw error;
        return undefined;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }
}

function splitChunks(text: string): string[] {
  if (text.length <= CHUNK_CHARS) return [text];
  const chunks: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(at + CHUNK_CHARS, text.length);
    // Never split a surrogate pair between two commands.
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end--;
    chunks.push(text.slice(at, end));
    at = end;
  }
  return chunks;
}

const SAFE_BUFFER = /^[A-Za-z0-9_.-]{1,100}$/;
const PANE_ID = /^%\d+$/;
const KEY_NAME = /^[A-Za-z0-9-]{1,32}$/;
/** What a refused guarded command prints instead of acting. */
const REFUSED = 'bmad-bus-refused';

const shared = new Map<string, { client: TmuxClient; users: number }>();

/** One client per socket per process, shared by every pane sink; release it when done. */
export function acquireTmuxClient(socket: string | undefined): TmuxClient {
  const key = socket ?? '';
  let entry = shared.get(key);
  if (!entry) {
    entry = { client: new TmuxClient({ socket, mode: modeFromEnv() }), users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  return entry.client;
}

export function releaseTmuxClient(client: TmuxClient): void {
  const key = client.socket ?? '';
  const entry = shared.get(key);
  if (!entry || entry.client !== client) return;
  if (--entry.users <= 0) {
    shared.delete(key);
    client.close();
  }
}

/** `$BMAD_TMUX_MODE` (auto, control, plain) forces a backend, for tests and benchmarks. */
export function modeFromEnv(env: NodeJS.ProcessEnv = process.env): TmuxMode {
  const mode = env.BMAD_TMUX_MODE;
  return mode === 'control' || mode === 'plain' ? mode : 'auto';
}
