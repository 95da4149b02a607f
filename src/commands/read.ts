import { serialize } from '../bus/envelope.js';
import { openRoot } from '../bus/root.js';
import { readMessages } from '../client/read.js';
import { formatEnvelope } from './format.js';
import { rootOf, useColor, type GlobalOptions } from './context.js';

export async function readCommand(agent: string, options: GlobalOptions & { follow?: boolean; all?: boolean; json?: boolean }): Promise<void> {
  const layout = openRoot(rootOf(options));
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const colour = useColor();
  try {
    for await (const { envelope } of readMessages(layout, agent, { follow: Boolean(options.follow), all: Boolean(options.all), signal: controller.signal })) {
      process.stdout.write(`${options.json ? serialize(envelope) : formatEnvelope(envelope, colour)}\n`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
