import type { PaneSinkFactory } from '../bus/delivery.js';

/**
 * The pane delivery every router built by bmad-bus uses (the CLI's `router`
 * and the library's `Router`). The tmux code is loaded at the first agent
 * with a pane, so a router without one never pays for it.
 */
export const paneSinks: PaneSinkFactory = async (agent, context) => (await import('../tmux/pane-sink.js')).createPaneSink(agent, context);
