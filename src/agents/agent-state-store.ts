import { BusError } from '../bus/errors.js';
import type { Layout } from '../bus/layout.js';
import { ensurePrivateDir, writeReport } from '../bus/fs-safety.js';
import { readStateFile } from '../bus/state-file.js';
import type { AgentState } from './profile-types.js';

/** What an agent's own hooks last said about it. */
export interface ReportedState {
  state: AgentState;
  /** ISO 8601: when the hook ran. */
  at: string;
  /** The hook event it came from (`UserPromptSubmit`, `Stop`, `Notification:permission_prompt`...). */
  event: string;
  /** The CLI whose hook it was. */
  cli: string;
}

/**
 * Records an agent's state as its hook reported it, in
 * state/agent-states/<agent>.json (atomic rename). One writer per agent
 * (its CLI runs its hooks one after another), so no lock: a hook must never
 * wait on one.
 */
export function writeReportedState(layout: Layout, agent: string, reported: ReportedState): void {
  ensurePrivateDir(layout.agentStatesDir);
  writeReport(layout.agentStateFile(agent), `${JSON.stringify(reported)}\n`);
}

export function readReportedState(layout: Layout, agent: string): ReportedState | undefined {
  try {
    return readStateFile<ReportedState | undefined>(layout.agentStateFile(agent), undefined);
  } catch (error) {
    if (error instanceof BusError) return undefined; // not valid JSON (a full disk tore it): the screen is asked instead
    throw error;
  }
}
