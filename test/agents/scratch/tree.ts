import { FakeModel } from '../fake-model.js';
import { AgentPane } from '../harness.js';
import { programsInTree } from '../../../src/agents/pane-programs.js';
const model = await new FakeModel().start();
for (const name of ['qwen', 'gemini', 'opencode'] as const) {
  const pane = await AgentPane.start(name, { url: model.url, readyTimeoutMs: 120_000 });
  console.log(name, pane.panePid, JSON.stringify(programsInTree(pane.panePid!)));
  await pane.close();
}
await model.close();
