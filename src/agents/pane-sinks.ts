import type { DeliveryItem, DeliveryResult, PaneSinkContext, PaneSinkFactory, Sink } from '../bus/delivery.js';
import { appendTrail } from '../bus/delivery-trail.js';
import type { AgentRecord } from '../bus/registry.js';
import type { PaneDeliveryStep } from '../tmux/pane-sink.js';
import { paneProfile, profileFromPane } from './pane-profile.js';
import { loadProfileSet } from './profile-store.js';
import type { ProfileSet } from './profiles.js';
import type { AgentProfile } from './profile-types.js';
import { HookSink, type Nudger } from './hook-sink.js';
import { ReceiptMatcher } from './receipt-matcher.js';
import { typingRulesFor } from './typing-rules.js';

/** How often `auto` looks at the pane's process tree again (the program may have been started or changed). */
const DETECT_EVERY_MS = 2000;

/**
 * The pane delivery every router built by bmad-bus uses (the CLI's `router`
 * and the library's `Router`): the tmux pane sink, typing by the agent's
 * profile, with each message's steps written to its trail and the agent's
 * hook receipts matched to what was typed (`received`); under delivery mode
 * `hooks`, the hook sink with its nudges typed the same way. The tmux code is
 * loaded at the first agent with a pane, so a router without one never pays
 * for it.
 */
export const paneSinks: PaneSinkFactory = async (agent, context) => {
  const { createPaneSink } = await import('../tmux/pane-sink.js');
  if (agent.deliver === 'hooks') {
    // Only the nudge is ever typed, as it is (no template around it), and it has no trail of its own: the messages' trails say `nudged`.
    const nudgeAgent: AgentRecord = { ...agent, template: '{body}', multiline: 'join' };
    const make = (profile: AgentProfile): Sink => createPaneSink(nudgeAgent, { ...context, typing: typingRulesFor(profile, nudgeAgent, context.layout) });
    return new HookSink(agent, context, agent.tmux ? new ProfiledPaneSink(nudgeAgent, context, loadProfileSet(context.layout), make, () => undefined) : undefined);
  }
  const receipts = new ReceiptMatcher(context.layout, agent.name, (id, receipt) => {
    try {
      appendTrail(context.layout, agent.name, { id, stage: 'received', at: receipt.at, detail: `${receipt.cli} hook` });
    } catch (error) {
      context.log(`tmux ${agent.name}: trail: ${(error as Error).message}`);
    }
  });
  const report = (step: PaneDeliveryStep): void => {
    const { id, stage, at, presses, detail } = step;
    appendTrail(context.layout, agent.name, { id, stage, at: new Date(at).toISOString(), ...(presses !== undefined ? { presses } : {}), ...(detail ? { detail } : {}) });
    if (stage === 'typed') receipts.expect(id, step.text, at);
  };
  const make = (profile: AgentProfile): Sink => createPaneSink(agent, { ...context, typing: typingRulesFor(profile, agent, context.layout), report, received: (id) => receipts.has(id) });
  return new ProfiledPaneSink(agent, context, loadProfileSet(context.layout), make, () => receipts.close());
};

/**
 * A pane sink typing by the agent's profile. Under `auto`, unless the agent's
 * command names an AI CLI, the profile comes from the programs running in the
 * pane (an agent registered with only `--tmux %3`, whose pane runs Claude
 * Code, is typed into as Claude Code): looked at again every DETECT_EVERY_MS
 * while messages flow, and the typing changes with the program.
 */
class ProfiledPaneSink implements Nudger {
  readonly kind = 'tmux' as const;
  private sink: Sink;
  private profile: AgentProfile;
  private readonly watchTree: boolean;
  private detectedAt = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly agent: AgentRecord,
    private readonly context: PaneSinkContext,
    private readonly profiles: ProfileSet,
    private readonly make: (profile: AgentProfile) => Sink,
    private readonly onClose: () => void,
  ) {
    this.watchTree = profileFromPane(agent, profiles);
    this.profile = paneProfile(agent, profiles, undefined);
    this.sink = make(this.profile);
  }

  /** The profile it types by now: under `auto`, the pane's program looked at again when it is time to. */
  async currentProfile(): Promise<AgentProfile> {
    await this.refresh();
    return this.profile;
  }

  onWake(wake: () => void): void {
    this.wake = wake;
    this.sink.onWake?.(wake);
  }

  async deliver(items: DeliveryItem[]): Promise<DeliveryResult> {
    await this.refresh();
    return this.sink.deliver(items);
  }

  private async refresh(): Promise<void> {
    if (this.watchTree && Date.now() - this.detectedAt >= DETECT_EVERY_MS) {
      this.detectedAt = Date.now();
      const found = await this.detect();
      if (found && found.name !== this.profile.name) {
        this.context.log(`tmux ${this.agent.name}: profile auto: the pane runs ${found.name}, typing by its profile (was ${this.profile.name})`);
        await this.sink.close();
        this.profile = found;
        this.sink = this.make(found);
        if (this.wake) this.sink.onWake?.(this.wake);
      }
    }
  }

  async close(): Promise<void> {
    this.onClose();
    await this.sink.close();
  }

  /** The profile the pane's process tree calls for; undefined when the pane cannot be read now (the sink will say why). */
  private async detect(): Promise<AgentProfile | undefined> {
    try {
      const { acquireTmuxClient, releaseTmuxClient } = await import('../tmux/client.js');
      const { readPaneInfo, resolvePaneId } = await import('../tmux/pane-info.js');
      const client = acquireTmuxClient(this.agent.tmux_socket ?? this.context.socket);
      try {
        const paneId = this.agent.tmux ? await resolvePaneId(client, this.agent.tmux) : undefined;
        const pid = paneId ? (await readPaneInfo(client, paneId))?.pid : undefined;
        return pid === undefined ? undefined : paneProfile(this.agent, this.profiles, pid);
      } finally {
        releaseTmuxClient(client);
      }
    } catch (error) {
      this.context.log(`tmux ${this.agent.name}: profile auto: ${(error as Error).message}`);
      return undefined;
    }
  }
}
