import { UsageError } from '../bus/errors.js';
import { serialize } from '../bus/envelope.js';
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

/** `bmad-bus send TO [MESSAGE...]` and `broadcast`: body from the arguments, else one message per stdin line. */
export async function sendCommand(to: string, words: string[], options: SendCommandOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const bodies = words.length > 0 ? [words.join(' ')] : await stdinLines();
  if (bodies.length === 0) throw new UsageError('Nothing to send: give a message, or lines on stdin');
  const messages: OutgoingMessage[] = bodies.map((text) => ({
    to,
    body: options.bodyJson ? parseBody(text) : text,
    ...(options.from ? { from: options.from } : {}),
    ...(options.type ? { type: options.type } : {}),
    ...(options.thread ? { thread: options.thread } : {}),
    ...(options.replyTo ? { reply_to: options.replyTo } : {}),
  }));
  const envelopes = await send(layout, messages);
  process.stdout.write(envelopes.map((e) => (options.json ? serialize(e) : e.id)).join('\n') + '\n');
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--body-json: the message is not valid JSON (${(error as Error).message})`);
  }
}

async function stdinLines(): Promise<string[]> {
  if (process.stdin.isTTY) throw new UsageError('Nothing to send: give a message, or pipe lines into stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .filter((l) => l.trim() !== '');
}
