/**
 * One `list-panes -a` read and one rule for which pane a target names: the
 * injector resolving an agent's target, `status` and `monitor` matching panes
 * to agents all use these, so they can never disagree about a pane.
 */

/** A pane as `list-panes -a` describes it. */
export interface ListedPane {
  id: string;
  session: string;
  windowIndex: number;
  windowName: string;
  windowActive: boolean;
  paneIndex: number;
  paneActive: boolean;
  /** The pane's foreground program (`#{pane_current_command}`). */
  currentCommand: string;
  pid: number | undefined;
  dead: boolean;
  /** Exit status of a dead pane's program (remain-on-exit keeps it visible). */
  deadStatus: number | undefined;
  /** Last output in the pane's window, seconds since the epoch (0 when unknown). */
  windowActivity: number;
  /** `@bmad_agent`: the agent the pane was made for ('' when untagged). */
  agentTag: string;
  /** `@bmad_title`: the title `up` gave the pane ('' when none). */
  title: string;
}

const SEP = '\u001f';
export const LIST_PANES_FORMAT = [
  '#{pane_id}', '#{session_name}', '#{window_index}', '#{window_name}', '#{window_active}', '#{pane_index}', '#{pane_active}',
  '#{pane_current_command}', '#{pane_pid}', '#{pane_dead}', '#{pane_dead_status}', '#{window_activity}', '#{@bmad_agent}', '#{@bmad_title}',
].join(SEP);

/** Every pane of one tmux server; undefined when no server answers. `run` runs one tmux command (undefined on failure). */
export async function listPanes(run: (args: string[]) => Promise<string | undefined>): Promise<ListedPane[] | undefined> {
  const out = await run(['list-panes', '-a', '-F', LIST_PANES_FORMAT]);
  return out === undefined ? undefined : parseListedPanes(out);
}

/** Parses `list-panes -F LIST_PANES_FORMAT` output; lines that are not one pane are skipped. */
export function parseListedPanes(out: string): ListedPane[] {
  const panes: ListedPane[] = [];
  for (const line of out.split('\n')) {
    const f = line.split(SEP);
    if (f.length < 14 || !/^%\d+$/.test(f[0]!)) continue;
    panes.push({
      id: f[0]!,
      session: f[1]!,
      windowIndex: Number(f[2]),
      windowName: f[3]!,
      windowActive: f[4] === '1',
      paneIndex: Number(f[5]),
      paneActive: f[6] === '1',
      currentCommand: f[7]!,
      pid: f[8] ? Number(f[8]) : undefined,
      dead: f[9] === '1',
      deadStatus: f[9] === '1' && f[10] ? Number(f[10]) : undefined,
      windowActivity: Number(f[11]) || 0,
      agentTag: f[12]!,
      title: f[13]!,
    });
  }
  return panes;
}

/**
 * The pane a target names: `%12` itself; `session:window.pane`,
 * `session:window` (its active pane) or `session` (its active pane), the
 * window given by index or name. Undefined when nothing matches.
 */
export function findPane(panes: readonly ListedPane[], target: string): ListedPane | undefined {
  if (/^%\d+$/.test(target)) return panes.find((p) => p.id === target);
  const match = /^([^:]+)(?::([^.]*))?(?:\.(\d+))?$/.exec(target);
  if (!match) return undefined;
  const [, session, window, pane] = match;
  return panes.find((p) =>
    p.session === session &&
    (window ? window === String(p.windowIndex) || window === p.windowName : p.windowActive) &&
    (pane !== undefined ? Number(pane) === p.paneIndex : p.paneActive));
}
