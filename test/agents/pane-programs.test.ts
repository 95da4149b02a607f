import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { programsInTree } from '../../src/agents/pane-programs.js';
import { ProfileSet } from '../../src/agents/profiles.js';

/** `--profile auto` without a command: the profile comes from the programs running in the pane. */
describe('profile auto by the process tree', () => {
  const started: ChildProcess[] = [];
  after(() => {
    for (const child of started) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
  /** A shell (its own process group, ended by pid) running `script`; waits until its tree has `depth` levels. */
  const tree = async (script: string, ready: (names: string[][]) => boolean) => {
    const child = spawn('bash', ['-c', script], { detached: true, stdio: 'ignore' });
    started.push(child);
    for (let i = 0; i < 100 && !ready(programsInTree(child.pid!)); i++) await sleep(20);
    return programsInTree(child.pid!);
  };
  const profiles = new ProfileSet();

  test('an AI CLI under a shell is the agent, not the shell', async () => {
    const found = await tree('(exec -a claude sleep 30); true', (t) => t.length >= 2 && t[1]!.includes('claude'));
    assert.deepEqual(found[0], ['bash']);
    assert.ok(found[1]!.includes('claude'), JSON.stringify(found));
    assert.equal(profiles.detectInTree(found)?.name, 'claude');
  });

  test('a Node CLI is named by its script (node …/bin/gemini)', async () => {
    const found = await tree('exec -a node tail -F /nonexistent/cli/bin/gemini', (t) => t[0]?.includes('node') === true);
    assert.equal(profiles.detectInTree(found)?.name, 'gemini');
  });

  test('a bare shell is the shell profile; an unknown program is nobody’s', async () => {
    assert.equal(profiles.detectInTree(await tree('sleep 30; true', (t) => t.length >= 2))?.name, 'shell');
    assert.equal(profiles.detectInTree([['python3', 'agent.py']]), undefined);
    assert.deepEqual(programsInTree(2 ** 22 + 12345), [], 'a pid that does not exist');
  });
});
