import type { TmuxClient } from './client.js';

/**
 * Which tmux server process answers on a socket: `<pid>:<start_time>`.
 * tmux hands out `@0`/`%0` again after a server restart, so a pane id alone
 * does not say a pane is still the one bmad-bus made: the id and this value
 * together do. Undefined when no server answers.
 */
export async function serverInstance(client: TmuxClient): Promise<string | undefined> {
  const out = await client.tryCommand(['display-message', '-p', '#{pid}:#{start_time}']);
  if (!out || !/^\d+:\d+$/.test(out.trim())) return undefined;
  return out.trim();
}
