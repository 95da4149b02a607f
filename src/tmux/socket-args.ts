/** The server selection every tmux call starts with: `-L NAME` for a named socket, nothing for the user's default server. */
export function socketArgs(socket: string | undefined): string[] {
  return socket ? ['-L', socket] : [];
}

/** The tmux executable; `$BMAD_TMUX_BIN` lets a test or a packager point at another build. */
export function tmuxBinary(): string {
  return process.env.BMAD_TMUX_BIN || 'tmux';
}

/** Default time limit of one tmux call. A healthy server answers in milliseconds. */
export const DEFAULT_TMUX_TIMEOUT_MS = 10_000;
