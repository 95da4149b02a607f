import { InvalidAddressError, InvalidNameError } from './errors.js';

/** Agent, role and group names: safe as a file name, a tmux target part and a shell word. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME_PATTERN_TEXT = '[a-z0-9][a-z0-9._-]{0,63}';

export const ORCHESTRATOR = 'orchestrator';
export const BROADCAST = '*';
/** The sender of messages written without one on pipes that do not name their sender. */
export const DEFAULT_SENDER = 'user';

/**
 * Who `send`, `share` and the client API send as when not told: `$BMAD_AGENT`
 * (`up` sets it in each agent's pane), else DEFAULT_SENDER. The router never
 * asks this: its environment is not the writer's.
 */
export function defaultSender(env: NodeJS.ProcessEnv = process.env): string {
  return env.BMAD_AGENT || DEFAULT_SENDER;
}

export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name) && name !== '.' && name !== '..';
}

export function assertName(name: unknown, what = 'agent name'): string {
  if (!isValidName(name)) {
    throw new InvalidNameError(`Expected ${what} to match ${NAME_PATTERN_TEXT}, got ${show(name)}`);
  }
  return name;
}

/** Where a message goes: one agent, everyone, one agent of a role, every member of a group, a group's leader. */
export type Address =
  | { kind: 'agent'; name: string }
  | { kind: 'broadcast' }
  | { kind: 'role'; name: string }
  | { kind: 'group'; name: string }
  | { kind: 'leader'; name: string };

const PREFIXED = ['role', 'group', 'leader'] as const;

export function parseAddress(text: unknown): Address {
  if (text === BROADCAST) return { kind: 'broadcast' };
  if (typeof text === 'string') {
    const colon = text.indexOf(':');
    if (colon < 0 && isValidName(text)) return { kind: 'agent', name: text };
    const prefix = text.slice(0, colon);
    const rest = text.slice(colon + 1);
    if ((PREFIXED as readonly string[]).includes(prefix) && isValidName(rest)) {
      return { kind: prefix as (typeof PREFIXED)[number], name: rest };
    }
  }
  throw new InvalidAddressError(
    `Expected an address (an agent name, \`orchestrator\`, \`*\`, \`role:R\`, \`group:G\` or \`leader:G\`), got ${show(text)}`,
  );
}

export function isValidAddress(text: unknown): text is string {
  try {
    parseAddress(text);
    return true;
  } catch (error) {
    if (error instanceof InvalidAddressError) return false;
    throw error;
  }
}

const PAIR_SEPARATOR = '-to-';
const PIPE_SUFFIX = '.pipe';

/** The file name of the pair pipe `agents/<from>-to-<to>.pipe`; refuses names that would make it ambiguous. */
export function pairPipeName(from: string, to: string): string {
  assertName(from, 'sender name');
  assertName(to, 'receiver name');
  const name = `${from}${PAIR_SEPARATOR}${to}${PIPE_SUFFIX}`;
  const parsed = parsePairPipeName(name);
  if (!parsed) {
    throw new InvalidNameError(
      `A pair pipe for ${show(from)} → ${show(to)} would be ambiguous: neither name may contain \`${PAIR_SEPARATOR}\``,
    );
  }
  return name;
}

/**
 * Reads sender and receiver off a pair pipe's file name. Both must be valid
 * names and the split must be unique, so the name alone says who is who.
 */
export function parsePairPipeName(fileName: string): { from: string; to: string } | undefined {
  if (!fileName.endsWith(PIPE_SUFFIX)) return undefined;
  const stem = fileName.slice(0, -PIPE_SUFFIX.length);
  let found: { from: string; to: string } | undefined;
  for (let at = stem.indexOf(PAIR_SEPARATOR); at >= 0; at = stem.indexOf(PAIR_SEPARATOR, at + 1)) {
    const from = stem.slice(0, at);
    const to = stem.slice(at + PAIR_SEPARATOR.length);
    if (isValidName(from) && isValidName(to)) {
      if (found) return undefined;
      found = { from, to };
    }
  }
  return found;
}

/** The agent an inbox pipe `inbox/<agent>.pipe` belongs to. */
export function parseInboxPipeName(fileName: string): string | undefined {
  if (!fileName.endsWith(PIPE_SUFFIX)) return undefined;
  const name = fileName.slice(0, -PIPE_SUFFIX.length);
  return isValidName(name) ? name : undefined;
}

/** A value shown in an error message: quoted, shortened, control characters escaped. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined) return 'nothing';
  else text = JSON.stringify(value) ?? String(value);
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  return `\`${JSON.stringify(text).slice(1, -1)}\``;
}
