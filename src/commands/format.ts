import type { Envelope } from '../bus/envelope.js';
import { truncate } from '../bus/text-cells.js';
import type { DeadLetter } from '../journal/dead-letters.js';

const codes = { dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
type Colour = keyof typeof codes;

export function paint(text: string, colour: Colour, on: boolean): string {
  return on ? `\x1b[${codes[colour]}m${text}\x1b[0m` : text;
}

/** A body as one short line of at most `max` columns: strings as they are, anything else as JSON; control characters escaped. */
export function shortBody(body: unknown, max = 120): string {
  let text = typeof body === 'string' ? body : (JSON.stringify(body) ?? 'null');
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '⏎' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return truncate(text, max);
}

function clock(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toISOString().slice(11, 23);
}

const TYPE_COLOURS: Record<string, Colour> = { event: 'yellow', task: 'magenta', result: 'green', text: 'blue' };

/**
 * One readable line per message: time, from → to, type, body shortened. An
 * agent of another machine (`machineOf`, from the registry the NATS bridge
 * keeps) shows as `name@machine`.
 */
export function formatEnvelope(e: Envelope, colour: boolean, width = 120, machineOf: (name: string) => string | undefined = () => undefined): string {
  const at = (name: string): string => {
    const machine = machineOf(name);
    return machine ? `${name}@${machine}` : name;
  };
  const route = `${at(e.from)} → ${at(e.to)}${e.rcpt ? ` (${at(e.rcpt)})` : ''}`;
  const type = paint(e.type.padEnd(8), TYPE_COLOURS[e.type] ?? 'cyan', colour);
  return `${paint(clock(e.ts), 'dim', colour)}  ${paint(route, 'green', colour)}  ${type} ${shortBody(e.body, width)}`;
}

export function formatDeadLetter(d: DeadLetter, colour: boolean, width = 120): string {
  const what = d.encoding === 'base64' ? `<${d.bytes ?? '?'} bytes of binary>` : shortBody(d.line ?? '', width);
  return `${paint(clock(d.ts), 'dim', colour)}  ${paint(`DEAD LETTER ${d.reason}`, 'red', colour)}${d.pipe ? ` on ${d.pipe}` : ''}: ${d.error}  ${paint(what, 'dim', colour)}`;
}
