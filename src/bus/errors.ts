/**
 * One error class per failure a user can meet. The CLI maps each class to an
 * exit code and prints `message` as one line; anything else prints a stack.
 */
export class BusError extends Error {
  /** Exit code the CLI uses for this error (1 failure, 2 usage). */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A name (agent, group, role) that does not match the allowed pattern. */
export class InvalidNameError extends BusError {
  override readonly exitCode = 2;
}

/** An address (`to`) that is not an agent, `orchestrator`, `*`, `role:`, `group:` or `leader:`. */
export class InvalidAddressError extends BusError {
  override readonly exitCode = 2;
}

/** A message that cannot become an envelope (bad JSON, bad field, too long...). */
export class InvalidMessageError extends BusError {
  /** Short machine-readable reason, also written to the dead-letter log. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Bad command-line usage that commander itself cannot catch. */
export class UsageError extends BusError {
  override readonly exitCode = 2;
}

/** The bus root (or something in it) is a symlink, owned by someone else, too open, or of the wrong type. */
export class UnsafeBusRootError extends BusError {}

/** The bus root has not been created (`bmad-bus init`). */
export class BusNotInitializedError extends BusError {}

/** Another router already holds the root's lock. */
export class RouterAlreadyRunningError extends BusError {}

/** The command needs a running router and there is none. */
export class RouterNotRunningError extends BusError {}

/** An agent that is not in the registry. */
export class UnknownAgentError extends BusError {}

/** A configuration or topology file that does not validate. */
export class ConfigError extends BusError {
  override readonly exitCode = 2;
}

/** Something took longer than its time limit. */
export class TimeoutError extends BusError {}

/** A tmux call failed (server absent, bad target...). */
export class TmuxError extends BusError {}

/**
 * The file-system errors that are races on a shared bus, not faults: a file
 * someone just removed (ENOENT), a process that just exited (ESRCH), a reader
 * that just left a FIFO (EPIPE, ENXIO, ECONNRESET), a full pipe (EAGAIN).
 */
export const FS_RACES: readonly string[] = ['ENOENT', 'ESRCH', 'EPIPE', 'ENXIO', 'EAGAIN', 'ECONNRESET'];

/** Whether `error` is one of `codes` (by default any of FS_RACES). */
export function isFsRace(error: unknown, codes: readonly string[] = FS_RACES): boolean {
  const code = errnoCode(error);
  return code !== undefined && codes.includes(code);
}

/**
 * Runs `action`; when it fails with one of `codes` (by default any of
 * FS_RACES) returns `fallback` instead. Anything else (EACCES, EIO, a bug)
 * is thrown: the one place where a race is told apart from a fault.
 *
 * @example
 * const size = unlessFsRace(() => fs.statSync(file).size, 0, ['ENOENT']);
 */
export function unlessFsRace<T>(action: () => T, fallback: T, codes: readonly string[] = FS_RACES): T {
  try {
    return action();
  } catch (error) {
    if (isFsRace(error, codes)) return fallback;
    throw error;
  }
}

/** As unlessFsRace, for a promise. */
export async function unlessFsRaceAsync<T>(action: () => Promise<T>, fallback: T, codes: readonly string[] = FS_RACES): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (isFsRace(error, codes)) return fallback;
    throw error;
  }
}

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A task id that is not in the task store. */
export class UnknownTaskError extends BusError {
  override readonly exitCode = 2;
}

/** Task dependencies (`--after`) that would make a task wait on itself. */
export class DependencyCycleError extends BusError {
  override readonly exitCode = 2;
}

/** A task change its current status does not allow (e.g. `done` on a cancelled task). */
export class TaskStateError extends BusError {}

/** A tmux session that an operation would create already exists (restore without --force). */
export class SessionExistsError extends BusError {}

/** `up`, `restore` or a team rebuild would make more agents than `resource_management.session_limits` allows; nothing was created. */
export class SessionLimitError extends BusError {
  override readonly exitCode = 2;
  /** Which limit, the count it would reach, the limit, the project for `max_per_project`. */
  readonly breach: { limit: 'max_total' | 'max_per_project'; count: number; max: number; project?: string | undefined };

  constructor(message: string, breach: SessionLimitError['breach'], options?: ErrorOptions) {
    super(message, options);
    this.breach = breach;
  }
}

/** What a caught value says, as one line: an Error's message, anything else as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
