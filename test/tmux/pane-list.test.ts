import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findPane, parseListedPanes } from '../../src/tmux/pane-list.js';

const row = (...fields: string[]) => fields.join('\u001f');
// id, session, window index, window name, window active, pane index, pane active, command, pid, dead, dead status, activity, tag, title
const OUT = [
  row('%0', 'team', '0', 'dev', '1', '0', '1', 'node', '100', '0', '', '1700000000', 'dev-1', 'Dev one'),
  row('%1', 'team', '0', 'dev', '1', '1', '0', 'bash', '101', '1', '3', '0', '', ''),
  row('%2', 'team', '1', 'qa', '0', '0', '1', 'node', '102', '0', '', '1700000001', 'qa-1', ''),
  row('%3', 'other', '0', 'dev', '1', '0', '1', 'vim', '103', '0', '', '0', '', ''),
  'not a pane line',
  '',
].join('\n');

describe('list-panes: one parser and one target rule', () => {
  const panes = parseListedPanes(OUT);

  test('parses every pane line and skips the rest', () => {
    assert.deepEqual(panes.map((p) => p.id), ['%0', '%1', '%2', '%3']);
    assert.deepEqual(panes[0], {
      id: '%0', session: 'team', windowIndex: 0, windowName: 'dev', windowActive: true, paneIndex: 0, paneActive: true,
      currentCommand: 'node', pid: 100, dead: false, deadStatus: undefined, windowActivity: 1700000000, agentTag: 'dev-1', title: 'Dev one',
    });
    assert.equal(panes[1]!.dead, true);
    assert.equal(panes[1]!.deadStatus, 3);
  });

  test('finds a pane by id, by session:window.pane (index or name), and the active pane of a window or session', () => {
    const found = (target: string) => findPane(panes, target)?.id;
    assert.equal(found('%2'), '%2');
    assert.equal(found('%9'), undefined);
    assert.equal(found('team:0.1'), '%1');
    assert.equal(found('team:qa.0'), '%2');
    assert.equal(found('team:dev'), '%0', 'the active pane of the window');
    assert.equal(found('team'), '%0', 'the active pane of the active window');
    assert.equal(found('other:dev.0'), '%3', 'the same window name in another session is another pane');
    assert.equal(found('team:dev.7'), undefined);
    assert.equal(found('nobody'), undefined);
    assert.equal(found('bad target with spaces:.x'), undefined);
  });
});
