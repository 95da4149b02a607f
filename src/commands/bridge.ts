import { openRoot } from '../bus/root.js';
import { normalizeBridgeOptions, type BridgeOptionsInput } from '../channels/bridge-options.js';
import { rootOf, type GlobalOptions } from './context.js';

export type BridgeCommandOptions = GlobalOptions & BridgeOptionsInput;

/**
 * `bmad-bus bridge --nats URL`: this bus and the team's other machines,
 * through NATS JetStream, in the foreground until SIGTERM / SIGINT. Prints
 * one `ready` line on stdout once connected (scripts and tests wait for it);
 * its log goes to stderr. Credentials never appear in either.
 */
export async function bridgeCommand(options: BridgeCommandOptions): Promise<void> {
  const layout = openRoot(rootOf(options));
  const bridgeOptions = normalizeBridgeOptions(options);
  const { runBridge } = await import('../channels/bridge.js');
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} bmad-bus bridge: ${line}\n`);
    if (/^connected to /.test(line)) process.stdout.write(`bmad-bus bridge ready pid=${process.pid} machine=${bridgeOptions.machine} root=${layout.root}\n`);
  };
  await runBridge(layout, bridgeOptions, { signal: controller.signal, log });
}
