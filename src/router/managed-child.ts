import { spawn, type ChildProcess } from 'node:child_process';

export interface ManagedChildOptions {
  /** What the log calls it (`router`, `supervisor`). */
  name: string;
  /** argv of the child: the program first. */
  command: string[];
  /** The environment of each start (given how often it was restarted so far). */
  env: (restarts: number) => NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Called after every start and exit, so the owner can publish the pid. */
  onChange?: () => void;
  /** How long `stop` waits after SIGTERM before SIGKILL. Default 15 s. */
  killAfterMs?: number;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** A child that ran this long before dying starts the backoff over. */
const HEALTHY_RUN_MS = 30_000;

/**
 * One child process the keeper keeps running: started with an IPC channel (so
 * it notices when the keeper goes, `disconnect`), restarted with exponential
 * backoff whenever it exits, and stopped with SIGTERM, then SIGKILL.
 */
export class ManagedChild {
  readonly name: string;
  restarts = 0;
  lastExit: string | undefined;
  private child: ChildProcess | undefined;
  private stopping = false;
  private backoff = MIN_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ManagedChildOptions) {
    this.name = options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    const startedAt = Date.now();
    const [command, ...args] = this.options.command;
    const child = spawn(command!, args, { env: this.options.env(this.restarts), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    child.on('error', (error) => this.options.log(`${this.name}: ${error.message}`));
    this.options.onChange?.();
    child.on('exit', (code, signal) => {
      this.child = undefined;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      this.lastExit = `${new Date().toISOString()} ${how}`;
      if (this.stopping) {
        this.options.onChange?.();
        return;
      }
      if (Date.now() - startedAt > HEALTHY_RUN_MS) this.backoff = MIN_BACKOFF_MS;
      this.restarts++;
      this.options.onChange?.();
      this.options.log(`${this.name} (pid ${child.pid}) exited with ${how}; restarting in ${this.backoff} ms (restart ${this.restarts})`);
      this.restartTimer = setTimeout(() => this.start(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    });
  }

  /** Sends a message over the IPC channel, if the child is there to take it. */
  send(message: unknown): void {
    const child = this.child;
    if (!child?.connected) return;
    child.send(message as object, (error) => {
      if (error) this.options.log(`${this.name}: ${error.message}`);
    });
  }

  /** Stops it for good: no restart; resolves once it has exited. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const running = this.child;
    if (!running) return Promise.resolve();
    return new Promise((resolve) => {
      const killTimer = setTimeout(() => running.kill('SIGKILL'), this.options.killAfterMs ?? 15_000);
      running.once('exit', () => {
        clearTimeout(killTimer);
        resolve();
      });
      running.kill('SIGTERM');
    });
  }
}
