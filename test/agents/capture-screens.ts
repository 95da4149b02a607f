// Regenerates the screen fixtures of each installed CLI at the version under test:
//   node dist/test/agents/capture-screens.js [cli ...]
// into test/agents/screens/<cli>-<version>/<state>.txt (capture-pane -p) and .ansi (-p -e).
// States: idle, typed, busy, permission, rate-limited, pasted (Claude Code adds `modal`: its
// auto-mode notice, shown before its permission prompt). Each state gets a fresh start of the
// CLI, so one that goes wrong cannot spoil the next. The screens feed the screen recognisers.
import fs from 'node:fs';
import path from 'node:path';
import { CLIS, findCli, sourceDir, type CliName } from './agents-cache.js';
import { FakeModel, type Mode } from './fake-model.js';
import { AgentPane, sleep } from './harness.js';

export const STATES = ['idle', 'typed', 'busy', 'permission', 'rate-limited', 'pasted'] as const;

/** What each CLI shows once a 429 has been taken in: a retry notice or an error (see README.md). */
const RATE_LIMIT_SHOWN: Record<CliName, RegExp> = {
  claude: /retrying in/i,
  codex: /exceeded retry limit|429/,
  gemini: /Usage limit reached/,
  qwen: /API Error: 429/,
  opencode: /rate limit/i,
};

// 20 lines of about 150 characters: past every CLI's collapse threshold (lines or characters).
const LONG_PASTE = Array.from({ length: 20 }, (_, i) => `Line ${String(i + 1).padStart(2, '0')} of a long paste: ${'the quick brown fox jumps over the lazy dog '.repeat(3).trim()}.`).join('\n');

class Capture {
  readonly written: string[] = [];
  readonly warnings: string[] = [];
  constructor(
    readonly cli: CliName,
    readonly dir: string,
  ) {}

  save(pane: AgentPane, state: string): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, `${state}.txt`), pane.screen() + '\n');
    fs.writeFileSync(path.join(this.dir, `${state}.ansi`), pane.screen(true) + '\n');
    this.written.push(state);
  }

  warn(text: string): void {
    this.warnings.push(text);
    console.error(`  ${this.cli}: ${text}`);
  }

  /** One fresh start of the CLI against a fresh fake model in `mode`. */
  async run(mode: Mode, body: (pane: AgentPane, model: FakeModel) => Promise<void>): Promise<void> {
    const model = await new FakeModel({ mode }).start();
    let pane: AgentPane | undefined;
    try {
      pane = await AgentPane.start(this.cli, { url: model.url });
      await body(pane, model);
    } finally {
      await pane?.close();
      await model.close();
    }
  }
}

// Codex needs about 4 s to show a 3,000-character paste, and the screen is still until then.
async function pasteAndSettle(pane: AgentPane, text: string): Promise<string> {
  const before = pane.screen();
  pane.paste(text);
  await pane.waitFor((s) => s !== before, 15_000, 'the paste on screen').catch(() => undefined);
  await sleep(500);
  return pane.waitStable(500, 5000);
}

async function captureCli(c: Capture): Promise<void> {
  await c.run({ kind: 'fast' }, async (pane) => {
    c.save(pane, 'idle');
    await pasteAndSettle(pane, 'Summarise the README in one sentence.');
    c.save(pane, 'typed');
  });

  await c.run({ kind: 'fast' }, async (pane) => {
    const screen = await pasteAndSettle(pane, LONG_PASTE);
    if (!/Pasted/i.test(screen)) c.warn('the long paste shows no [Pasted …] marker');
    c.save(pane, 'pasted');
  });

  await c.run({ kind: 'slow', seconds: 120 }, async (pane, model) => {
    await pane.send('Take your time with this one.');
    await model.waitForTurns(1, 30_000);
    await sleep(2000);
    c.save(pane, 'busy');
  });

  await c.run({ kind: 'tool' }, async (pane, model) => {
    await pane.send('Please create the marker file.');
    await model.waitForTurns(1, 30_000);
    await sleep(4000);
    // Claude Code in auto mode first says its server-side safety check is out of reach (the
    // fake model is not Anthropic's API); Enter stays in auto mode and shows the real prompt.
    if (/Enter to stay in auto mode/.test(pane.screen())) {
      c.save(pane, 'modal');
      pane.keys('Enter');
      await sleep(3000);
    }
    const screen = await pane.waitStable(500, 3000);
    if (!/allow|proceed|permission/i.test(screen)) c.warn('no permission prompt recognised on screen');
    c.save(pane, 'permission');
  });

  // Gemini CLI retries a per-minute 429 for minutes without a word; a used-up daily quota shows a dialog.
  await c.run({ kind: 'rate-limit', daily: c.cli === 'gemini' }, async (pane, model) => {
    await pane.send('Hello while the model is rate limited.');
    await model.waitForTurns(1, 30_000);
    try {
      await pane.waitFor((s) => RATE_LIMIT_SHOWN[c.cli].test(s), 120_000, 'a rate-limit message');
      await sleep(1000);
    } catch (err) {
      c.warn(String(err).split('\n')[0]!);
    }
    c.save(pane, 'rate-limited');
  });
}

async function main(args: string[]): Promise<number> {
  const wanted = args.length > 0 ? (args as CliName[]) : [...CLIS];
  let failures = 0;
  for (const cli of wanted) {
    const found = findCli(cli);
    if (typeof found === 'string') {
      console.log(`${cli}: skipped: ${found}`);
      continue;
    }
    const c = new Capture(cli, path.join(sourceDir(), 'screens', `${cli}-${found.version}`));
    console.log(`${cli} ${found.version}: capturing into ${c.dir}`);
    try {
      await captureCli(c);
    } catch (err) {
      failures++;
      console.error(`${cli}: FAILED: ${String(err)}`);
    }
    console.log(`${cli}: wrote ${c.written.join(', ')}${c.warnings.length ? ` (${c.warnings.length} warnings)` : ''}`);
  }
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
