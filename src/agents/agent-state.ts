import type { AgentRecord } from '../bus/registry.js';
import type { ReportedState } from './agent-state-store.js';
import type { AgentState } from './profile-types.js';

/** The agent's state, and what it was read from. */
export interface KnownState {
  state: AgentState;
  source: 'supervisor' | 'hook' | 'screen';
  since?: string;
}

/**
 * One rule for what an agent is doing, for `status`, `monitor` and `--json`:
 * the supervisor's word on life and death first (a dead or failed agent
 * reports nothing any more, and a restarting one is starting again), then the
 * agent's own hooks, then its screen as its profile reads it (`screen`,
 * when the caller read one: screen-state.ts). A question or a rate-limit
 * message on the screen wins over the hooks: it is there now, whatever the
 * last hook said (Codex reports only at the end of a turn). Undefined when
 * nothing is known yet.
 */
export function agentStateOf(agent: AgentRecord, reported: ReportedState | undefined, screen?: AgentState): KnownState | undefined {
  switch (agent.status) {
    case 'dead':
    case 'failed':
      return { state: agent.status, source: 'supervisor' };
    case 'restarting':
      return { state: 'starting', source: 'supervisor' };
    default:
      break;
  }
  if (screen === 'waiting_input' || screen === 'rate_limited') return { state: screen, source: 'screen' };
  // A report from before the agent (re)started belongs to its previous life.
  if (reported && Date.parse(reported.at) >= Date.parse(agent.registered)) return { state: reported.state, source: 'hook', since: reported.at };
  return screen ? { state: screen, source: 'screen' } : undefined;
}
