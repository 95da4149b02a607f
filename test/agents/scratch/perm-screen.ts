import fs from 'node:fs';
import { FakeModel } from '../fake-model.js';
import { AgentPane, sleep } from '../harness.js';
import { ProfileSet } from '../../../src/agents/profiles.js';
import { readScreen } from '../../../src/agents/screen-reader.js';
import { cli } from '../../helpers/bus.js';

const name = (process.argv[2] ?? 'gemini') as 'gemini';
const model = await new FakeModel({ mode: { kind: 'tool' } }).start();
const pane = await AgentPane.start(name, {
  url: model.url, readyTimeoutMs: 120_000, env: { BMAD_AGENT: 'x-1', BMAD_BUS_DIR: '/tmp/nonexistent-bus' },
  prepare: async (launch) => { await cli(['hooks', 'install', '--cli', name, '--cwd', launch.cwd], { env: { ...process.env, HOME: launch.home } }); },
});
await pane.send('Please create the marker file.');
await pane.waitFor((s) => /Allow execution of/.test(s), 60_000, 'prompt');
for (let i = 0; i < 6; i++) {
  const s = pane.screen();
  const r = readScreen(new ProfileSet().get(name)!, s);
  console.log(i, r.state, JSON.stringify(r.input));
  if (i === 0) fs.writeFileSync('/tmp/perm-screen.txt', s);
  await sleep(500);
}
await pane.close();
await model.close();
