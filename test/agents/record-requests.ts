// Records what each installed CLI sends the model in a short conversation, for the unit test of
// the user-turn extraction (user-turns.test.ts):
//   node dist/test/agents/record-requests.js [cli ...]
// writes test/agents/recorded/<cli>-<version>.ndjson: one request a line ({method, path, body}),
// long strings cut to their two ends so the files stay small and closing tags survive.
// The conversation: a first message whose answer is a tool call (run inside the project, approved
// if the CLI asks), then a second message. Expected turns: RECORDED_TURNS.
import fs from 'node:fs';
import path from 'node:path';
import { CLIS, findCli, sourceDir, type CliName } from './agents-cache.js';
import { FakeModel } from './fake-model.js';
import { AgentPane, sleep } from './harness.js';

export const RECORDED_TURNS = ['First message of the recorded conversation.', 'Second message, after a tool call.'];

function trim(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 400 ? `${value.slice(0, 200)}…(trimmed)…${value.slice(-200)}` : value;
  if (Array.isArray(value)) return value.map(trim);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, trim(v)]));
  return value;
}

async function record(cli: CliName): Promise<void> {
  const found = findCli(cli);
  if (typeof found === 'string') {
    console.log(`${cli}: skipped: ${found}`);
    return;
  }
  const model = await new FakeModel({ mode: { kind: 'tool', command: 'touch bmad-fake-model-was-here' } }).start();
  let pane: AgentPane | undefined;
  try {
    pane = await AgentPane.start(cli, { url: model.url });
    await pane.send(RECORDED_TURNS[0]!);
    await model.waitForTurns(1, 60_000);
    await sleep(4000);
    // Gemini CLI and Qwen Code ask even inside the project, Codex because the fake model asks to
    // leave its sandbox; the first choice of each allows once.
    if (/Allow once|allow once|Yes, proceed/.test(pane.screen())) pane.keys('Enter');
    await sleep(4000);
    model.mode = { kind: 'fast' };
    await pane.send(RECORDED_TURNS[1]!);
    await model.waitForTurns(2, 60_000);
    await sleep(4000);
    const file = path.join(sourceDir(), 'recorded', `${cli}-${found.version}.ndjson`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lines = model.requests.filter((r) => r.format !== undefined).map((r) => JSON.stringify({ method: r.method, path: r.path, body: trim(r.body) }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    console.log(`${cli}: ${lines.length} requests, turns ${JSON.stringify(model.userTurns)} -> ${file}`);
  } finally {
    await pane?.close();
    await model.close();
  }
}

// Run only as a script: the unit test imports RECORDED_TURNS from here.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const wanted = process.argv.length > 2 ? (process.argv.slice(2) as CliName[]) : [...CLIS];
  for (const cli of wanted) await record(cli);
}
