// How to start each real agent CLI offline against the fake model: a fake HOME in a temp dir,
// the config files that skip onboarding, trust and login dialogs, and the environment that
// points the CLI at 127.0.0.1. Recipes measured by hand; see README.md for why each line is there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliName, InstalledCli } from './agents-cache.js';

export interface Launch {
  argv: string[];
  /** The whole environment of the CLI (it is started with `env -i`, nothing leaks in). */
  env: Record<string, string>;
  cwd: string;
  /** The fake HOME; remove it when done. */
  home: string;
}

export interface SetupOptions {
  /** Base URL of the fake model, e.g. http://127.0.0.1:PORT */
  url: string;
}

const MODEL = 'fake-model';

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function writeJson(file: string, value: unknown): void {
  write(file, JSON.stringify(value, null, 2) + '\n');
}

/** A fresh HOME with a project folder in it, and the environment every CLI gets. */
function baseHome(cli: CliName): { home: string; cwd: string; env: Record<string, string> } {
  const home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `bmad-agents-${cli}-`)));
  const cwd = path.join(home, 'project');
  fs.mkdirSync(cwd, { recursive: true });
  const env: Record<string, string> = {
    HOME: home,
    USER: os.userInfo().username,
    LOGNAME: os.userInfo().username,
    SHELL: '/bin/bash',
    PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    TERM: 'tmux-256color',
    COLORTERM: 'truecolor',
    LANG: 'C.UTF-8',
    TMPDIR: os.tmpdir(),
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    // Keep the CLIs from asking the internet (unreachable here, so these only cost time).
    NO_UPDATE_NOTIFIER: '1',
    DO_NOT_TRACK: '1',
    // opencode npm-installs plugin typings into its config dir at every start; offline, npm gives
    // up at once and nothing reaches the registry (and the first request comes 3 s after Enter, not 6-9).
    npm_config_offline: 'true',
  };
  return { home, cwd, env };
}

type Setup = (cli: InstalledCli, opts: SetupOptions) => Launch;

const claude: Setup = (cli, { url }) => {
  const { home, cwd, env } = baseHome('claude');
  const key = 'sk-ant-api03-fake-key-for-offline-tests-000000000000000000000000';
  writeJson(path.join(home, '.claude.json'), {
    hasCompletedOnboarding: true,
    customApiKeyResponses: { approved: [key.slice(-20)], rejected: [] },
    projects: { [cwd]: { hasTrustDialogAccepted: true, allowedTools: [] } },
  });
  Object.assign(env, { ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: url, DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
  return { argv: [cli.bin], env, cwd, home };
};

const codex: Setup = (cli, { url }) => {
  const { home, cwd, env } = baseHome('codex');
  const codexHome = path.join(home, '.codex');
  write(
    path.join(codexHome, 'config.toml'),
    [
      `model = "${MODEL}"`,
      'model_provider = "fake"',
      'check_for_update_on_startup = false',
      '',
      '[model_providers.fake]',
      'name = "Fake"',
      `base_url = "${url}/v1"`,
      'wire_api = "responses"',
      'env_key = "FAKE_MODEL_API_KEY"',
      '',
      `[projects."${cwd}"]`,
      'trust_level = "trusted"',
      '',
    ].join('\n'),
  );
  Object.assign(env, { CODEX_HOME: codexHome, FAKE_MODEL_API_KEY: 'fake-key' });
  return { argv: [cli.bin], env, cwd, home };
};

const gemini: Setup = (cli, { url }) => {
  const { home, cwd, env } = baseHome('gemini');
  writeJson(path.join(home, '.gemini', 'settings.json'), {
    security: { auth: { selectedType: 'gemini-api-key' }, folderTrust: { enabled: false } },
  });
  Object.assign(env, { GEMINI_API_KEY: 'fake-gemini-key', GOOGLE_GEMINI_BASE_URL: url });
  return { argv: [cli.bin], env, cwd, home };
};

const qwen: Setup = (cli, { url }) => {
  const { home, cwd, env } = baseHome('qwen');
  writeJson(path.join(home, '.qwen', 'settings.json'), {
    security: { auth: { selectedType: 'openai' } },
  });
  Object.assign(env, { OPENAI_API_KEY: 'fake-openai-key', OPENAI_BASE_URL: `${url}/v1`, OPENAI_MODEL: MODEL });
  return { argv: [cli.bin], env, cwd, home };
};

const opencode: Setup = (cli, { url }) => {
  const { home, cwd, env } = baseHome('opencode');
  writeJson(path.join(env.XDG_CONFIG_HOME!, 'opencode', 'opencode.json'), {
    $schema: 'https://opencode.ai/config.json',
    provider: {
      fake: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Fake',
        options: { baseURL: `${url}/v1`, apiKey: 'fake-key' },
        models: { [MODEL]: { name: 'Fake model' } },
      },
    },
    model: `fake/${MODEL}`,
    autoupdate: false,
  });
  Object.assign(env, { OPENCODE_DISABLE_AUTOUPDATE: '1', OPENCODE_DISABLE_MODELS_FETCH: '1' });
  return { argv: [cli.bin], env, cwd, home };
};

export const SETUPS: Record<CliName, Setup> = { claude, codex, gemini, qwen, opencode };
