import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { installTeamMcp } from '../../src/team/agent-mcp.js';
import { loadTopology } from '../../src/team/topology.js';
import { tempDir } from '../helpers/bus.js';

/** What `up` calls for agents with `mcp: true` (the lead wires the topology field): the MCP server registered where each CLI reads it. */
describe('installTeamMcp', () => {
  it('registers the server for each chosen agent where its CLI reads it; shared directories once; a profile without a CLI and a broken file are reported', () => {
    const { dir, cleanup } = tempDir();
    try {
      const at = (name: string): string => {
        const d = path.join(dir, name);
        fs.mkdirSync(d, { recursive: true });
        return d;
      };
      const [shared, gem, codexHome, plain, broken, off] = ['shared', 'gem', 'codex-home', 'plain', 'broken', 'off'].map(at) as [string, string, string, string, string, string];
      fs.mkdirSync(path.join(broken, '.gemini'));
      fs.writeFileSync(path.join(broken, '.gemini', 'settings.json'), '{ nope');
      const pane = (name: string, extra: string) => `          - { name: ${name}, command: "sleep 600", ${extra} }\n`;
      const file = path.join(dir, 'team.yaml');
      fs.writeFileSync(file, `name: mcp-team\nsessions:\n  - name: mcp-team\n    windows:\n      - name: w\n        panes:\n${[
        pane('cl-1', `profile: claude, cwd: ${shared}`),
        pane('cl-2', `profile: claude, cwd: ${shared}`),
        pane('ge-1', `profile: gemini, cwd: ${gem}`),
        pane('cx-1', `profile: codex, cwd: ${plain}, env: { CODEX_HOME: ${codexHome} }`),
        pane('sh-1', `profile: shell, cwd: ${plain}`),
        pane('br-1', `profile: gemini, cwd: ${broken}`),
        pane('off-1', `profile: claude, cwd: ${off}`),
      ].join('')}`);
      const topology = loadTopology(file);
      const chosen = new Set(['cl-1', 'cl-2', 'ge-1', 'cx-1', 'sh-1', 'br-1']);
      const wants = (agent: { cwd: string; env: Record<string, string> }) => topology.agents.some((a) => a === agent && chosen.has(a.name));

      const dry = installTeamMcp(topology, '/opt/bmad-bus', true, wants);
      assert.deepEqual(dry.filter((i) => i.changed).map((i) => i.agents), [['cl-1', 'cl-2'], ['ge-1'], ['cx-1']]);
      assert.deepEqual(fs.readdirSync(shared), [], 'dry: nothing written');

      const done = installTeamMcp(topology, '/opt/bmad-bus', false, wants);
      const rows = done.map((i) => [i.agents.join(','), i.cli ?? '-', i.changed, i.error ? 'error' : 'ok']);
      assert.deepEqual(rows, [
        ['cl-1,cl-2', 'claude', true, 'ok'],
        ['ge-1', 'gemini', true, 'ok'],
        ['cx-1', 'codex', true, 'ok'],
        ['br-1', 'gemini', false, 'error'],
        ['sh-1', '-', false, 'error'],
      ]);
      assert.match(done.find((i) => i.agents[0] === 'sh-1')!.error!, /profile shell is no agent CLI/);
      assert.match(done.find((i) => i.agents[0] === 'br-1')!.error!, /not valid JSON/);
      // No --dir, no --agent: the pane's BMAD_BUS_DIR and BMAD_AGENT say which bus and which agent.
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(shared, '.mcp.json'), 'utf8')).mcpServers['bmad-bus'], { type: 'stdio', command: '/opt/bmad-bus', args: ['mcp'] });
      assert.equal(JSON.parse(fs.readFileSync(path.join(gem, '.gemini', 'settings.json'), 'utf8')).mcpServers['bmad-bus'].trust, true);
      assert.match(fs.readFileSync(path.join(codexHome, 'config.toml'), 'utf8'), /^\[mcp_servers\.bmad-bus\]$/m);
      assert.deepEqual(fs.readdirSync(plain), [], 'codex keeps to its CODEX_HOME');
      assert.deepEqual(fs.readdirSync(off), [], 'not chosen');
      assert.equal(fs.readFileSync(path.join(broken, '.gemini', 'settings.json'), 'utf8'), '{ nope', 'left alone');
      assert.deepEqual(installTeamMcp(topology, '/opt/bmad-bus', false, wants).filter((i) => i.changed), [], 'a second up changes nothing');
    } finally {
      cleanup();
    }
  });
});
