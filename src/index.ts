/**
 * bmad-bus as a library: the same operations as the CLI, typed.
 *
 * @example
 * import { openBus } from 'bmad-bus';
 * const bus = openBus();
 * const [message] = await bus.send({ to: 'dev-1', body: 'run the tests' });
 * for await (const { envelope } of bus.read('dev-1', { follow: true })) console.log(envelope.body);
 */
import type { Envelope } from './bus/envelope.js';
import type { Layout } from './bus/layout.js';
import { layoutFor, type BusOptions } from './bus/open-bus.js';
import { addAgent, readRegistry, removeAgent, type AgentInput, type AgentRecord, type Registry } from './bus/registry.js';
import { readMessages, type ReadOptions, type ReceivedMessage } from './client/read.js';
import { send, type OutgoingMessage, type SendOptions } from './client/send.js';
import { subscribe, type SubscribeOptions } from './client/subscribe.js';
import { journalEnd } from './journal/segments.js';
import { paneSinks } from './agents/pane-sinks.js';
import { Router as CoreRouter } from './router/router.js';
import type { RouterOptionsInput } from './router/router-options.js';

export interface Bus {
  readonly layout: Layout;
  /** Sends messages (accepted durably with or without a router); returns the stamped envelopes. */
  send(messages: OutgoingMessage | OutgoingMessage[], options?: SendOptions): Promise<Envelope[]>;
  /** An agent's messages from its read position on (moved as you take them). */
  read(agent: string, options?: ReadOptions): AsyncGenerator<ReceivedMessage>;
  /** All traffic (or what `filter` keeps), live. */
  subscribe(options?: SubscribeOptions): AsyncGenerator<Envelope & { offset: number }>;
  agents(): Registry;
  addAgent(agent: AgentInput): Promise<AgentRecord>;
  removeAgent(name: string): Promise<void>;
}

/** Opens (creating if needed) a bus root. */
export function openBus(options: BusOptions = {}): Bus {
  const layout = layoutFor(options);
  return {
    layout,
    send: (messages, sendOptions) => send(layout, messages, sendOptions),
    read: (agent, readOptions) => readMessages(layout, agent, readOptions),
    subscribe: (subscribeOptions) => subscribe(layout, subscribeOptions),
    agents: () => readRegistry(layout),
    addAgent: (agent) => addAgent(layout, { since: journalEnd(layout.journalDir), ...agent }),
    removeAgent: (name) => removeAgent(layout, name),
  };
}

/**
 * Resolves and checks (or creates) a bus root and returns its layout: what
 * `send`, `readMessages`, `subscribe` and `new Router` take.
 */
export { layoutFor as initBus };
/** Sends messages: through the router when one runs, else straight into the journal. Returns the stamped envelopes. */
export { send };
/** An agent's messages from its own read position in the journal (independent of the router's delivery). */
export { readMessages };
/** All traffic (or what a filter keeps) from the journal, live. */
export { subscribe };
/**
 * The router of one bus root, in this process: reads the pipes, journals
 * every message and delivers it, into inbox FIFOs and (unless `paneSinks` says
 * otherwise) into tmux panes.
 *
 * @example
 * const router = new Router(initBus({ dir: '/tmp/my-bus' }));
 * await router.start();
 * // ...
 * await router.close();
 */
export class Router extends CoreRouter {
  constructor(layout: Layout, options: RouterOptionsInput = {}) {
    super(layout, { paneSinks, ...options });
  }
}
export type { RouterOptionsInput as RouterOptions } from './router/router-options.js';
/** Address parsing and name rules, as the router applies them. */
export { parseAddress, isValidName, assertName, DEFAULT_SENDER, type Address } from './bus/names.js';
/** Writes up to this many bytes into a FIFO are atomic: keep a line you write into a pipe under it. */
export { PIPE_BUF, type Envelope, type Origin } from './bus/envelope.js';
export type { Layout } from './bus/layout.js';
export type { AgentRecord, AgentInput, Registry, DeliveryMode } from './bus/registry.js';
export type { OutgoingMessage, SendOptions } from './client/send.js';
export type { ReadOptions, ReceivedMessage } from './client/read.js';
export type { SubscribeOptions } from './client/subscribe.js';
export type { BusOptions } from './bus/open-bus.js';
/** Every error the bus throws on purpose is a BusError: its `name` says which, `exitCode` is what the CLI exits with. */
export {
  BusError,
  InvalidNameError,
  InvalidAddressError,
  InvalidMessageError,
  UsageError,
  UnsafeBusRootError,
  BusNotInitializedError,
  RouterAlreadyRunningError,
  RouterNotRunningError,
  UnknownAgentError,
  ConfigError,
  TimeoutError,
  TmuxError,
  UnknownTaskError,
  DependencyCycleError,
  TaskStateError,
  SessionExistsError,
} from './bus/errors.js';
