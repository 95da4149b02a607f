import { hookCommand, type HookOptions } from './commands/hook.js';

/**
 * `bmad-bus hook EVENT [PAYLOAD] [--cli C] [--agent A] [--dir D]` without the
 * command table: an agent CLI runs the hook at every turn boundary, and
 * loading commander and every command's declarations cost it about as much
 * as Node's own start. A flag it does not know is skipped, never an error:
 * a hook must not fail the agent over its settings file. Returns false for
 * `--help` and a call without an event, which the full CLI then answers.
 */
export async function runHook(args: readonly string[]): Promise<boolean> {
  const options: HookOptions = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--cli' || flag === '--agent' || flag === '--dir') {
      const value = inline ?? args[++i];
      if (value === undefined) return false;
      options[flag.slice(2) as 'cli' | 'agent' | 'dir'] = value;
    } else if (arg === '--help' || arg === '-h') return false;
    else if (!arg.startsWith('-') || arg === '-') positional.push(arg);
  }
  if (positional.length === 0) return false;
  await hookCommand(positional[0]!, positional[1], options);
  return true;
}
