import type { PaneSinkFactory, Sink } from '../bus/delivery.js';
import { appendTrail } from '../bus/delivery-trail.js';
import type { PaneDeliveryStep } from '../tmux/pane-sink.js';
import { loadProfileSet } from './profile-store.js';
import { ReceiptMatcher } from './receipt-matcher.js';
import { typingRulesFor } from './typing-rules.js';

/**
 * The pane delivery every router built by bmad-bus uses (the CLI's `router`
 * and the library's `Router`): the tmux pane sink, typing by the agent's
 * profile, with each message's steps written to its trail and the agent's
 * hook receipts matched to what was typed (`received`). The tmux code is
 * loaded at the first agent with a pane, so a router without one never pays
 * for it.
 */
export const paneSinks: PaneSinkFactory = async (agent, context) => {
  const profile = loadProfileSet(context.layout).resolve(agent.profile, agent.command);
  const { createPaneSink } = await import('../tmux/pane-sink.js');
  const iso = (ms: number) => new Date(ms).toISOString();
  const receipts = new ReceiptMatcher(context.layout, agent.name, (id, receipt) => {
    try {
      appendTrail(context.layout, agent.name, { id, stage: 'received', at: receipt.at, detail: `${receipt.cli} hook` });
    } catch (error) {
      context.log(`tmux ${agent.name}: trail: ${(error as Error).message}`);
    }
  });
  const report = (step: PaneDeliveryStep): void => {
    const { id, stage, at, presses, detail } = step;
    appendTrail(context.layout, agent.name, { id, stage, at: iso(at), ...(presses !== undefined ? { presses } : {}), ...(detail ? { detail } : {}) });
    if (stage === 'typed') receipts.expect(id, step.text, at);
  };
  const sink = createPaneSink(agent, { ...context, typing: typingRulesFor(profile, agent, context.layout), report });
  const withReceipts: Sink = {
    kind: sink.kind,
    deliver: (items) => sink.deliver(items),
    onWake: (wake) => sink.onWake?.(wake),
    close: async () => {
      receipts.close();
      await sink.close();
    },
  };
  return withReceipts;
};
