import type { Command } from 'commander';

/** Commands of the supervisor (supervise...). */
export function registerSupervisorCommands(_program: Command): void {}
