import type { Layout } from '../bus/layout.js';
import { readRegistry } from '../bus/registry.js';
import { TmuxClient } from '../tmux/client.js';
import { defaultCheckpointDir, listCheckpoints } from './checkpoint-model.js';
import { restoreCheckpoint, withRestoreLock } from './checkpoint-restore.js';
import { holdPane } from './supervisor-panes.js';
import { restorePromptOf, typeRestorePrompt, type PromptTiming } from './restore-prompt.js';
import type { Topology } from './topology-types.js';
import { up } from './up.js';

/**
 * Bringing a whole team back after its tmux server died: the pane ids it had
 * mean nothing on the new server (tmux hands out `%0` again), so nothing is
 * repaired in place. The team is rebuilt the way `restore` rebuilds it — from
 * its latest checkpoint, else from its topology (as `up` makes it) — and each
 * agent gets its restore prompt before its backlog.
 */

export interface RecoverOptions {
  topology: Topology;
  socket?: string | undefined;
  busBin?: string | undefined;
  /** Where checkpoints are; default `defaultCheckpointDir()`. */
  checkpointDir?: string | undefined;
  timing: PromptTiming;
}

export interface RecoverResult {
  source: 'checkpoint' | 'topology';
  /** The checkpoint restored, for `checkpoint`. */
  file?: string;
  agents: string[];
  /** The checkpoint was already restored on this server (a `restore` got there first). */
  alreadyRestored?: boolean;
}

/** The newest checkpoint of this team on this bus and tmux socket, if any. */
export function latestCheckpointOf(layout: Layout, teamFile: string, socket: string | undefined, dir: string = defaultCheckpointDir()): string | undefined {
  return listCheckpoints(dir).filter((c) => c.root === layout.root && (c.socket ?? undefined) === socket && c.topology === teamFile).at(-1)?.file;
}

export async function recoverTeam(layout: Layout, options: RecoverOptions): Promise<RecoverResult> {
  const { topology, socket } = options;
  const file = latestCheckpointOf(layout, topology.file, socket, options.checkpointDir);
  if (file) {
    const result = await restoreCheckpoint(layout, file, {
      socket, router: false, recovery: true, readyTimeoutMs: options.timing.timeoutMs, limits: topology.resource_management.session_limits,
    });
    return { source: 'checkpoint', file, agents: result.agents, ...(result.alreadyRestored ? { alreadyRestored: true } : {}) };
  }
  return withRestoreLock(layout, async () => {
    // Held from before registration: the router types nothing into a pane before its prompt.
    const holdUntil = Date.now() + options.timing.timeoutMs + 30_000;
    const made = await up(layout, topology, { socket, busBin: options.busBin, holdUntil });
    const registry = readRegistry(layout);
    const client = new TmuxClient({ socket, mode: 'plain' });
    try {
      await Promise.all(made.agents.map(async (name) => {
        const agent = registry.agents[name];
        if (!agent?.tmux) return;
        try {
          await typeRestorePrompt(client, agent.tmux, agent, restorePromptOf(agent, topology.supervisor.restore_prompt), options.timing);
        } finally {
          await holdPane(client, agent.tmux, 0);
        }
      }));
    } finally {
      client.close();
    }
    return { source: 'topology', agents: made.agents };
  });
}
