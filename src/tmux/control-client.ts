import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { TimeoutError, TmuxError } from '../bus/errors.js';
import { ControlParser, type ControlEvent } from './control-parser.js';
import { tmuxCommandLine } from './quote.js';
import { DEFAULT_TMUX_TIMEOUT_MS, socketArgs, tmuxBinary } from './socket-args.js';

interface Pending {
  args: string[];
  resolve: (output: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  /** Answer blocks still to come: a command that queues another (if-shell) gets one block each. */
  blocks: number;
  output: string[];
}

export interface ControlClientEvents {
  /** The client is gone (server died, its session was killed, a command timed out, close()). */
  closed: [reason: string];
}

/**
 * One long-lived `tmux -C` client. Commands are written one per line and
 * answered in order between `%begin` and `%end`/`%error`, which makes a
 * command cost a fraction of a millisecond instead of a process spawn.
 *
 * It attaches to an existing session with `ignore-size` (so it never resizes
 * anyone's windows) and `no-output` (so pane output is not streamed to us).
 * Without a session to attach to, `connect()` fails and callers fall back to
 * plain invocations. If the child outlives us by accident it still exits:
 * tmux ends a control client when its stdin closes. The protocol is read by
 * ControlParser (control-parser.ts); this class does the I/O and matches
 * answers to commands.
 */
export class ControlClient extends EventEmitter<ControlClientEvents> {
  readonly socket: string | undefined;
  private readonly timeoutMs: number;
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending: Pending[] = [];
  private readonly parser = new ControlParser();
  private closedReason: string | undefined;
  private readonly onParentExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(options: { socket?: string | undefined; timeoutMs?: number | undefined } = {}) {
    super();
    this.socket = options.socket;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TMUX_TIMEOUT_MS;
  }

  get isOpen(): boolean {
    return this.child !== undefined && this.closedReason === undefined;
  }

  /** Starts the client and waits for its first answer; rejects when tmux has no session to attach to. */
  async connect(): Promise<void> {
    if (this.child) throw new TmuxError('control client already started');
    const child = spawn(tmuxBinary(), [...socketArgs(this.socket), '-C', 'attach-session', '-f', 'ignore-size,no-output'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    process.once('exit', this.onParentExit);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      for (const event of this.parser.push(d)) this.onEvent(event);
    });
    child.stdin.on('error', () => undefined); // EPIPE when tmux already left; 'exit' reports it
    child.on('error', (error) => this.shutdown(`tmux -C failed: ${error.message}`));
    child.on('exit', (code, signal) => {
      this.shutdown(`tmux -C exited (${signal ?? code})${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    });
    // A probe: the first answer proves the client is attached and in sync.
    await this.command(['display-message', '-p', 'bmad-bus']);
  }

  /**
   * Runs one command; resolves with its output lines joined by newlines.
   * `blocks`: how many `%begin`/`%end` answers it brings — 2 for an `if-shell`,
   * whose chosen command is answered in a block of its own.
   */
  command(args: string[], timeoutMs = this.timeoutMs, blocks = 1): Promise<string> {
    if (this.closedReason !== undefined || !this.child) {
      return Promise.reject(new TmuxError(`tmux control client closed: ${this.closedReason ?? 'not connected'}`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Answers come strictly in order: after a lost answer the stream cannot be trusted.
        this.shutdown(`tmux ${args[0]} timed out after ${timeoutMs} ms`, true);
      }, timeoutMs);
      this.pending.push({ args, resolve, reject, timer, blocks, output: [] });
      this.child!.stdin.write(`${tmuxCommandLine(args)}\n`);
    });
  }

  close(): void {
    this.shutdown('closed');
  }

  private onEvent(event: ControlEvent): void {
    if (event.type === 'exit') {
      this.shutdown(`tmux -C exited: ${event.reason || 'detached'}`);
      return;
    }
    // Notifications (%session-changed, %window-add...) are not needed here.
    if (event.type !== 'block') return;
    const pending = this.pending[0];
    if (!pending) return;
    pending.output.push(...event.lines);
    if (event.ok && --pending.blocks > 0) return;
    this.pending.shift();
    clearTimeout(pending.timer);
    const output = pending.output.join('\n');
    if (event.ok) pending.resolve(output);
    // A command that fails queues nothing: no further block comes for it.
    else pending.reject(new TmuxError(`tmux ${pending.args[0]} failed: ${output.trim() || 'error'}`));
  }

  private shutdown(reason: string, timedOut = false): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    process.removeListener('exit', this.onParentExit);
    for (const pending of this.pending.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(timedOut ? new TimeoutError(reason) : new TmuxError(`tmux control client closed: ${reason}`));
    }
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin.end();
      this.child.kill('SIGTERM');
    }
    this.emit('closed', reason);
  }
}
