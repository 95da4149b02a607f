import { InvalidMessageError, UsageError } from '../bus/errors.js';
import { jsonBody, serialize } from '../bus/envelope.js';
import { openRoot } from '../bus/root.js';
import { send, type OutgoingMessage } from '../client/send.js';
import { rootOf, type GlobalOptions } from './context.js';

export interface SendCommandOptions extends GlobalOptions {
  from?: string;
  type?: string;
  thread?: string;
  replyTo?: string;
  bodyJson?: boolean;
  json?: boolean;
}

/**
 * `bmad-bus send TO [MESSAGE...]` and `broadcast`: body from the arguments,
 * else one message per stdin line, streamed (`tail -f log | bmad-bus send ops`
 * sends each line as it comes, in groups when lines come faster than they go).
 */
export async function sendCommand(to: string, words: string[], options: SendCommandOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const sendBodies = async (bodies: string[]): Promise<void> => {
    const messages: OutgoingMessage[] = bodies.map((text) => ({
      to,
      ...(options.bodyJson ? { body: undefined, bodyJson: checkedJson(text) } : { body: text }),
      ...(options.from ? { from: options.from } : {}),
      ...(options.type ? { type: options.type } : {}),
      ...(options.thread ? { thread: options.thread } : {}),
      ...(options.replyTo ? { reply_to: options.replyTo } : {}),
    }));
    let envelopes;
    try {
      envelopes = await send(layout, messages);
    } catch (error) {
      // A bad `to`, --from or --type on the command line is a usage error (exit 2), not a failure.
      if (error instanceof InvalidMessageError) throw new UsageError(error.message, { cause: error });
      throw error;
    }
    process.stdout.write(envelopes.map((e) => (options.json ? serialize(e) : e.id)).join('\n') + '\n');
  };
  if (words.length > 0) {
    await sendBodies([words.join(' ')]);
    return;
  }
  if (process.stdin.isTTY) throw new UsageError('Nothing to send: give a message, or pipe lines into stdin');
  let sent = 0;
  for await (const group of stdinGroups()) {
    await sendBodies(group);
    sent += group.length;
  }
  if (sent === 0) throw new UsageError('Nothing to send: give a message, or lines on stdin');
}

function checkedJson(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--body-json: the message is not valid JSON (${(error as Error).message})`);
  }
  try {
    return jsonBody(text).raw;
  } catch (error) {
    throw new UsageError(`--body-json: ${(error as Error).message}`);
  }
}

/** Non-blank stdin lines, in groups of what has arrived (at most 1000 a group). */
async function* stdinGroups(): AsyncGenerator<string[]> {
  const { default: split2 } = await import('split2');
  const lines = process.stdin.pipe(split2((line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line)));
  let group: string[] = [];
  for await (const line of lines as AsyncIterable<string>) {
    if (line.trim() !== '') group.push(line);
    // Lines already buffered come in the same turn: send them together.
    if (group.length >= 1000 || (group.length > 0 && lines.readableLength === 0)) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0) yield group;
}
