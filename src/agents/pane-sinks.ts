import type { PaneSinkFactory } from '../bus/delivery.js';
import { loadProfileSet } from './profile-store.js';
import { typingRulesFor } from './typing-rules.js';

/**
 * The pane delivery every router built by bmad-bus uses (the CLI's `router`
 * and the library's `Router`): the tmux pane sink, typing by the agent's
 * profile. The tmux code is loaded at the first agent with a pane, so a
 * router without one never pays for it.
 */
export const paneSinks: PaneSinkFactory = async (agent, context) => {
  const profile = loadProfileSet(context.layout).resolve(agent.profile, agent.command);
  const { createPaneSink } = await import('../tmux/pane-sink.js');
  return createPaneSink(agent, { ...context, typing: typingRulesFor(profile, agent, context.layout) });
};
