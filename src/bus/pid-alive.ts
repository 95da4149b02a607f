import fs from 'node:fs';
import { unlessFsRace } from './errors.js';

/** Whether a process runs: it answers signal 0 and is not a zombie (the one rule every status reader uses). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process stays a zombie until its parent reaps it: it answers signal 0 but is gone.
  const stat = unlessFsRace(() => fs.readFileSync(`/proc/${pid}/stat`, 'latin1'), undefined);
  // Unreadable: gone between the signal and this read — unless there is no /proc at all (then trust the signal).
  if (stat === undefined) return !fs.existsSync('/proc/self/stat');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}
