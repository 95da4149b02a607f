import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Layout } from '../../src/bus/layout.js';
import { readRegistry } from '../../src/bus/registry.js';
import { promptBlocker, renderRestorePrompt } from '../../src/team/restore-prompt.js';
import type { Supervisor } from '../../src/team/supervisor.js';
import { cli, waitFor } from '../helpers/bus.js';
import { TmuxBed } from '../helpers/tmux.js';
import { librarySupervisor } from './supervisor-helpers.js';

describe('the restore prompt (pure)', () => {
  it('is rendered once: controls made harmless, line breaks joined unless keep', () => {
    assert.equal(renderRestorePrompt('a\nb\n', 'join'), 'a ⏎ b');
    assert.equal(renderRestorePrompt('a\nb\n', 'keep'), 'a\nb');
    assert.equal(renderRestorePrompt('x\u001b[201~y', undefined), 'x␛[201~y');
  });

  it('goes only to agents that take messages in their pane, and never into a bare shell', () => {
    assert.equal(promptBlocker({ deliver: 'tmux' }, { currentCommand: 'node', pid: undefined }), undefined);
    assert.match(promptBlocker({ deliver: 'tmux' }, { currentCommand: 'bash', pid: undefined })!, /bare shell/);
    assert.match(promptBlocker({ deliver: 'none' }, { currentCommand: 'node', pid: undefined })!, /delivery mode none/);
    assert.match(promptBlocker({ deliver: 'inbox' }, { currentCommand: 'node', pid: undefined })!, /delivery mode inbox/);
  });
});

// Issue 9, defect 3: a restarted agent whose program is a shell got the restore prompt
// typed in, and the shell ran it (`$(touch X)` in the prompt touched X). The supervisor
// and `restore` now share one path: neither types it into a shell.
describe('a restore prompt is never typed into a shell: supervisor restart and restore', () => {
  const bed = new TmuxBed();
  const { tmux, dir, root, base } = bed;
  const file = path.join(dir, 'team.yaml');
  const marker = path.join(dir, 'prompt-ran-as-a-command');
  const readerLog = path.join(dir, 'reader.log');
  const env = { BMAD_CHECKPOINT_DIR: path.join(dir, 'checkpoints') };
  const layout = new Layout(root);
  const prompts = (): number => (fs.existsSync(readerLog) ? fs.readFileSync(readerLog, 'utf8').split('RESTORED').length - 1 : 0);

  before(async () => {
    bed.start();
    fs.writeFileSync(file, `
name: prompts
defaults:
  cwd: .
  deliver: tmux
  submit_delay: 10ms
  restore_prompt: "RESTORED $(touch ${marker})"
sessions:
  - name: prompts
    windows:
      - name: shell
        panes: [{ name: shelly, role: dev, command: bash }]
      - name: reader
        panes: [{ name: reader, role: dev, command: 'cat >> ${readerLog}' }]
`);
    await bed.up(file);
  });
  after(() => bed.close());

  const panePid = (agent: string): number => tmux.panePid(readRegistry(layout).agents[agent]!.tmux!);

  it('the supervisor restarts both; only the agent that is not a shell gets the prompt', async () => {
    const library = librarySupervisor(bed, file, { intervalMs: 200, backoffMs: 50, restoreSettleMs: 200, schedule: false });
    const supervisor: Supervisor = library.supervisor;
    const restarted = new Set<string>();
    supervisor.on('event', (e) => {
      if (e.event === 'restart') restarted.add(e.agent);
    });
    await supervisor.start();
    await waitFor(() => readRegistry(layout).agents.shelly?.status === 'running', 10_000, 'shelly running');
    const before = { shelly: panePid('shelly'), reader: panePid('reader') };
    process.kill(before.shelly, 'SIGKILL');
    process.kill(before.reader, 'SIGKILL');
    await waitFor(() => restarted.has('shelly') && restarted.has('reader'), 15_000, 'both restarted');
    await waitFor(() => prompts() >= 1, 15_000, 'the reader got its prompt');
    await waitFor(() => readRegistry(layout).agents.shelly?.status === 'running' && panePid('shelly') !== before.shelly, 15_000, 'shelly back');
    // The supervisor's word that it typed nothing into the shell, rather than a wait for a wrongly typed prompt to run.
    await waitFor(() => library.logged.some((l) => l.startsWith('no restore prompt for shelly: ')), 15_000, 'shelly skipped');
    assert.equal(fs.existsSync(marker), false, 'the prompt was typed into bash and ran');
    await supervisor.close();
  });

  it('restore takes the same path: the shell agent is skipped with the reason, the other is prompted', async () => {
    const promptsBefore = prompts();
    const checkpoint = await cli(['checkpoint', ...base], { env });
    assert.equal(checkpoint.code, 0, checkpoint.stderr);
    assert.equal((await cli(['down', file, ...base])).code, 0);
    const restored = await cli(['restore', 'latest', '--no-router', '--json', ...base], { env, timeoutMs: 60_000 });
    assert.equal(restored.code, 0, restored.stderr);
    const result = JSON.parse(restored.stdout) as { prompted: string[]; skipped: Array<{ agent: string; reason: string }> };
    assert.deepEqual(result.prompted, ['reader']);
    assert.match(result.skipped.find((s) => s.agent === 'shelly')?.reason ?? '', /bare shell/);
    // The prompt the reader was given has arrived: what restore typed, it typed before that.
    await waitFor(() => prompts() > promptsBefore, 15_000, 'the reader prompted again');
    assert.equal(fs.existsSync(marker), false);
  });
});
