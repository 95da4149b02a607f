import { UsageError } from '../bus/errors.js';
import { ProfileSet } from '../agents/profiles.js';
import { DELIVERY_POLICIES, type ProfileOverride, type ScreenPatterns } from '../agents/profile-types.js';
import { SUBMIT_KEY_PATTERN } from '../tmux/injector.js';
import { MULTILINE_MODES } from '../tmux/render.js';
import type { Path, TopologyReader } from './topology-reader.js';

const PROFILE_FIELDS = [
  'extends', 'description', 'programs', 'ai', 'submit_key', 'submit_delay', 'multiline', 'rescue_key', 'rescue_attempts', 'verify_ms',
  'default_policy', 'screen', 'continue_prompt',
] as const;
const SCREEN_LISTS = ['placeholder', 'busy', 'waiting_input', 'rate_limited', 'compacting', 'pasted', 'network_error', 'reset_time'] as const;

/**
 * A topology's `profiles:`: changes to built-in profiles (a CLI changed its
 * screen in a new version) and new ones (`extends: claude`). Each field is
 * checked where it is written, so an error names its line.
 *
 * @example
 * profiles:
 *   claude: { submit_delay: 500ms }
 *   my-claude: { extends: claude, programs: [claude-wrapper], screen: { busy: ["esc to interrupt", "Working"] } }
 */
export function readProfiles(r: TopologyReader): ProfileSet {
  const set = new ProfileSet();
  for (const name of Object.keys(r.map(['profiles']))) {
    const p: Path = ['profiles', name];
    r.object(p, PROFILE_FIELDS);
    const override: ProfileOverride = {};
    const extendsName = r.string([...p, 'extends']);
    if (extendsName !== undefined) override.extends = extendsName;
    const description = r.string([...p, 'description']);
    if (description !== undefined) override.description = description;
    const continuePrompt = r.string([...p, 'continue_prompt']);
    if (continuePrompt !== undefined) override.continue_prompt = continuePrompt;
    if (r.has([...p, 'programs'])) override.programs = r.stringList([...p, 'programs']);
    const ai = r.boolean([...p, 'ai']);
    if (ai !== undefined) override.ai = ai;
    for (const key of ['submit_key', 'rescue_key'] as const) {
      const value = r.matching([...p, key], SUBMIT_KEY_PATTERN, 'a key name like Enter or C-m');
      if (value !== undefined) override[key] = value;
    }
    for (const key of ['submit_delay', 'verify_ms'] as const) {
      const value = r.duration([...p, key]);
      if (value !== undefined) override[key] = value;
    }
    const attempts = r.integer([...p, 'rescue_attempts'], 0);
    if (attempts !== undefined) override.rescue_attempts = attempts;
    const multiline = r.oneOf([...p, 'multiline'], MULTILINE_MODES);
    if (multiline) override.multiline = multiline;
    const policy = r.oneOf([...p, 'default_policy'], DELIVERY_POLICIES);
    if (policy) override.default_policy = policy;
    if (r.has([...p, 'screen'])) override.screen = readScreen(r, [...p, 'screen']);
    try {
      set.define(name, override);
    } catch (error) {
      if (error instanceof UsageError) r.fail(p, error.message.replace(/^profile [^:]+: /, ''));
      throw error;
    }
  }
  return set;
}

function readScreen(r: TopologyReader, p: Path): Partial<ScreenPatterns> {
  r.object(p, ['input', ...SCREEN_LISTS]);
  const screen: Partial<ScreenPatterns> = {};
  const input = r.string([...p, 'input']);
  if (input !== undefined) screen.input = checkedPattern(r, [...p, 'input'], input);
  for (const key of SCREEN_LISTS) {
    if (!r.has([...p, key])) continue;
    // A single pattern may be written without the list.
    const value = r.get([...p, key]);
    const list = typeof value === 'string' ? [value] : r.stringList([...p, key]);
    screen[key] = list.map((source, i) => checkedPattern(r, [...p, key, i], source));
  }
  return screen;
}

function checkedPattern(r: TopologyReader, p: Path, source: string): string {
  try {
    new RegExp(source, 'iu');
  } catch (error) {
    r.fail(p, `not a regular expression: ${(error as Error).message}`);
  }
  return source;
}
