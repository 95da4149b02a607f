import type { Command } from 'commander';

/** Operations on a running team: checkpoint, checkpoints, restore, exec, share, knowledge, monitor. */
export function registerOpsCommands(_program: Command): void {}
