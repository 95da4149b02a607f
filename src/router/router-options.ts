import type { PaneSinkFactory } from '../bus/delivery.js';
import { parseDuration, parseSize } from '../bus/duration.js';
import { UsageError } from '../bus/errors.js';
import { DEFAULT_MAX_LINE_BYTES } from '../bus/envelope.js';
import { DEFAULT_SEGMENT_BYTES, DURABILITY_MODES, type Durability } from '../journal/writer.js';

export interface RouterOptions {
  /** Longest accepted line (default 1 MiB); `BMAD_BUS_MAX_LINE`. */
  maxLineBytes: number;
  /** fsync per batch (default), per message, or never; `BMAD_BUS_DURABILITY`. */
  durability: Durability;
  /** How long a message for an unknown agent waits for it to register before it is dead-lettered (default 60 s); `BMAD_BUS_HOLD`. */
  holdMs: number;
  /** Journal segment size (default 64 MiB); `BMAD_BUS_SEGMENT_SIZE`. */
  segmentBytes: number;
  /** How often the status file is rewritten (default 250 ms). */
  statusIntervalMs: number;
  /** How often cursors are looked at in case a change was missed (default 1 s; a hand-over or a consumer change writes them within 10 ms). */
  cursorIntervalMs: number;
  /** tmux server (tmux -L) for panes of agents that do not name their own. */
  tmuxSocket: string | undefined;
  /** Set by the keeper: it holds the root's lock on the router's behalf. */
  underKeeper: boolean;
  /** Restarts so far (the keeper counts them). */
  restarts: number;
  /** Where the router's log lines go (default: stderr, each stamped and prefixed `bmad-bus router:`). */
  log: (line: string) => void;
  /** Makes the sinks of agents delivered into tmux panes; without it their messages wait in the journal, `status` says why. */
  paneSinks: PaneSinkFactory | undefined;
}

export type RouterOptionsInput = Partial<{
  maxLineBytes: number | string;
  durability: string;
  holdMs: number | string;
  segmentBytes: number | string;
  statusIntervalMs: number;
  cursorIntervalMs: number;
  tmuxSocket: string;
  underKeeper: boolean;
  restarts: number;
  log: (line: string) => void;
  paneSinks: PaneSinkFactory;
}>;

/** Options normalised once, with the environment overrides read in the same place. */
export function normalizeRouterOptions(input: RouterOptionsInput = {}, env: NodeJS.ProcessEnv = process.env): RouterOptions {
  const durability = input.durability ?? env.BMAD_BUS_DURABILITY ?? 'batch';
  if (!DURABILITY_MODES.includes(durability as Durability)) {
    throw new UsageError(`Expected durability batch, message or never, got \`${durability}\``);
  }
  return {
    maxLineBytes: parseSize(input.maxLineBytes ?? env.BMAD_BUS_MAX_LINE ?? DEFAULT_MAX_LINE_BYTES, 'max line size'),
    durability: durability as Durability,
    holdMs: parseDuration(input.holdMs ?? env.BMAD_BUS_HOLD ?? '60s', 'hold time'),
    segmentBytes: parseSize(input.segmentBytes ?? env.BMAD_BUS_SEGMENT_SIZE ?? DEFAULT_SEGMENT_BYTES, 'segment size'),
    statusIntervalMs: input.statusIntervalMs ?? 250,
    cursorIntervalMs: input.cursorIntervalMs ?? 1000,
    tmuxSocket: input.tmuxSocket ?? (env.BMAD_TMUX_SOCKET || undefined),
    underKeeper: input.underKeeper ?? env.BMAD_BUS_KEEPER_PID !== undefined,
    restarts: input.restarts ?? Number(env.BMAD_BUS_RESTARTS ?? 0),
    log: input.log ?? logToStderr,
    paneSinks: input.paneSinks,
  };
}

/** The router's log when no other is given: one stderr line each, with the time (a router started in the background has its stderr in log/router.log). */
export function logToStderr(line: string): void {
  process.stderr.write(`${new Date().toISOString()} bmad-bus router: ${line}\n`);
}
