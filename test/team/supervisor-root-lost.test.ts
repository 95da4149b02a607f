import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { TmuxBed } from '../helpers/tmux.js';
import { agentDefaults, agentsStarted, librarySupervisor, passes, writeTeam } from './supervisor-helpers.js';

// A supervisor that outlived `stop` (found by the demo test) made a removed bus root again
// on its next pass. A root removed under it is no longer its bus: it stops, and writes nothing there.
describe('a supervisor whose bus root is removed stops and never makes it again', () => {
  const bed = new TmuxBed();
  const { dir, root } = bed;
  let file = '';
  before(async () => {
    bed.start();
    file = writeTeam(dir, `
name: gone
${agentDefaults(dir, { deliver: 'tmux' })}
sessions:
  - name: gone
    windows: [{ name: one, panes: [{ name: alpha, role: dev }] }]
`);
    await bed.up(file);
    await agentsStarted(dir, ['alpha']);
  });
  after(() => bed.close());

  it('stops at its next pass, says why, and leaves the path alone', async () => {
    const { supervisor, logged } = librarySupervisor(bed, file, { intervalMs: 100, schedule: false });
    await supervisor.start();
    await passes(supervisor, 2);
    const closed = new Promise<void>((resolve) => supervisor.once('closed', () => resolve()));
    fs.rmSync(root, { recursive: true, force: true });
    await closed;
    assert.equal(supervisor.rootLost, true);
    assert.ok(logged.some((l) => /root: The bus root .* was removed or replaced; stopping/.test(l)), logged.join('\n'));
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!fs.existsSync(root), 'the root stays removed');
  });
});
