import type { Layout } from '../bus/layout.js';
import type { AgentRecord } from '../bus/registry.js';
import type { TypingRules } from '../tmux/pane-sink.js';
import { readReportedState } from './agent-state-store.js';
import type { AgentProfile } from './profile-types.js';
import { readScreen, transcriptShows } from './screen-reader.js';

/** A hook's "busy" older than this is not trusted to hold the queue (its Stop may never have run). */
const BUSY_REPORT_TRUST_MS = 10 * 60_000;
/** With no hooks: how long an idle screen after a submission, with no busy seen, counts as the turn done (a turn quicker than the gate's look). */
const QUIET_MS = 2000;
/** With hooks: how long to wait for the hook's word that the turn ended before trusting the idle screen alone (a hook that failed). */
const HOOK_QUIET_MS = 30_000;

/**
 * Whether the turn a submission started is over, from what the gate saw
 * since: busy and then idle again, or idle all along for long enough. A CLI
 * shows an idle input box for a moment after a submission (Gemini CLI runs
 * its BeforeAgent hook first), and a message typed then is merged into the
 * turn; so "idle" alone right after a submission is not "the turn is over".
 */
class TurnWatch {
  private busyAt = 0;

  sawBusy(): void {
    this.busyAt = Date.now();
  }

  over(lastSubmit: number, hooked: boolean): boolean {
    if (this.busyAt > lastSubmit) return true;
    return Date.now() - lastSubmit >= (hooked ? HOOK_QUIET_MS : QUIET_MS);
  }
}

/**
 * What a profile means for typing into an agent's pane:
 * - the submit key, delay and line breaks (the agent record's own settings win);
 * - `confirm`: submitted only when the input box is empty and the message
 *   (or the CLI's collapsed-paste marker) shows in the transcript above it;
 * - `inputHolds`: after presses that showed no submission, whether the
 *   input box still holds something (else the paste went nowhere and the
 *   message is typed again);
 * - `gate`: never into a permission prompt, a modal or a rate-limit screen
 *   (the screen's word or the agent's hooks'); under `when-idle`, not into a
 *   busy or compacting agent either, and one message per turn: after a
 *   submission, the next waits until the turn is over (the hook says idle,
 *   or the screen was busy and is idle again, or stayed idle long enough).
 * A profile without screen patterns (readline, shell) keeps the plain rule:
 * the text left the cursor line.
 */
export function typingRulesFor(profile: AgentProfile, agent: AgentRecord, layout: Layout): TypingRules {
  const policy = agent.policy ?? profile.default_policy;
  const rules: TypingRules = {
    submitKey: agent.submit ?? profile.submit_key,
    submitDelayMs: agent.submit_delay ?? profile.submit_delay,
    multiline: agent.multiline ?? profile.multiline,
    // A submit key the agent's record sets is its rescue key too: a wrong one must end unconfirmed, not be saved by the profile's.
    rescueKey: agent.submit ?? profile.rescue_key,
    maxResubmits: profile.rescue_attempts,
    verifyWindowMs: profile.verify_ms,
    onePerTurn: policy === 'when-idle',
  };
  if (!profile.screen) return rules;
  rules.confirm = (before, after, text) => {
    const now = readScreen(profile, after);
    return now.input === '' && transcriptShows(profile, now, text, readScreen(profile, before));
  };
  // The paste left the box (empty, or redrawn away as opencode does at its first turn) and the screen moves on: the CLI is taking it.
  rules.settling = (pasted, now) => {
    const box = readScreen(profile, now).input;
    return now !== pasted && !box && box !== readScreen(profile, pasted).input;
  };
  // Only an input box seen empty is "clearly not there": text that wrapped or scrolled out of a box could look like anything else.
  rules.inputHolds = (screen) => {
    const now = readScreen(profile, screen);
    if (now.input === undefined || now.state === 'waiting_input') return undefined;
    return now.input !== '';
  };
  const turn = new TurnWatch();
  rules.gate = (screen, lastSubmit) => {
    const reading = readScreen(profile, screen);
    const reported = readReportedState(layout, agent.name);
    const fresh = reported && Date.now() - Date.parse(reported.at) < BUSY_REPORT_TRUST_MS ? reported.state : undefined;
    if (reading.state === 'waiting_input' || fresh === 'waiting_input') return 'the agent is asking its human (a permission prompt or question is on screen)';
    if (reading.state === 'rate_limited' || fresh === 'rate_limited') return 'the agent is rate-limited';
    if (policy !== 'when-idle') return undefined;
    if (reading.state === 'busy' || reading.state === 'compacting' || fresh === 'busy' || fresh === 'compacting') {
      turn.sawBusy();
      return `the agent is ${fresh === 'compacting' || reading.state === 'compacting' ? 'compacting' : 'busy'} (policy when-idle)`;
    }
    if (reading.state === 'unknown') return 'no input box on screen yet (starting?)';
    const hooked = reported !== undefined && Date.parse(reported.at) >= Date.parse(agent.registered);
    const doneByHook = lastSubmit !== undefined && reported?.state === 'idle' && Date.parse(reported.at) > lastSubmit;
    if (lastSubmit !== undefined && !doneByHook && !turn.over(lastSubmit, hooked)) return "waiting for the agent's turn to end (policy when-idle)";
    return undefined;
  };
  return rules;
}
