import { UsageError } from '../bus/errors.js';
import { programOf } from '../tmux/pane-info.js';
import { SUBMIT_KEY_PATTERN } from '../tmux/injector.js';
import { BUILTIN_PROFILES } from './builtin-profiles.js';
import type { AgentProfile, ProfileOverride, ScreenPatterns } from './profile-types.js';

/** `--profile auto`: the profile is chosen from the agent's command. */
export const AUTO_PROFILE = 'auto';
/** What `auto` falls back to for a command no profile claims: typing as bmad-bus always did. */
export const FALLBACK_PROFILE = 'readline';
const PROFILE_NAME = /^[a-z][a-z0-9._-]{0,31}$/;

/**
 * The profiles one bus knows: the built-in ones, then a topology's
 * `profiles:` (which may change a built-in or add one with `extends:`).
 * Every rule about profiles lives here: `up`, `agents add`, the router's pane
 * delivery and `profiles show` all resolve names through a ProfileSet.
 */
export class ProfileSet {
  private readonly profiles = new Map<string, AgentProfile>();
  /** What was defined over the built-ins, in order: what a bus saves (profile-store.ts) to resolve names later. */
  readonly overrides: Record<string, ProfileOverride> = {};

  constructor(overrides: Record<string, ProfileOverride> = {}) {
    for (const p of BUILTIN_PROFILES) this.profiles.set(p.name, p);
    for (const [name, override] of Object.entries(overrides)) this.define(name, override);
  }

  get names(): string[] {
    return [...this.profiles.keys()];
  }

  list(): AgentProfile[] {
    return [...this.profiles.values()];
  }

  get(name: string): AgentProfile | undefined {
    return this.profiles.get(name);
  }

  /** The profile a name means; `auto` (or none) picks by the agent's command. Unknown names are a UsageError. */
  resolve(name: string | undefined, command: string | undefined): AgentProfile {
    if (name === undefined || name === AUTO_PROFILE) return this.detect(command);
    const profile = this.profiles.get(name);
    if (!profile) throw new UsageError(`Unknown profile \`${name}\` (expected ${AUTO_PROFILE} or one of ${this.names.join(', ')})`);
    return profile;
  }

  /** The profile whose programs include the command's program (`env X=1 claude --resume` → claude), else readline. */
  detect(command: string | undefined): AgentProfile {
    const program = command ? programOf(command) : '';
    for (const profile of this.profiles.values()) if (program && profile.programs.includes(program)) return profile;
    return this.profiles.get(FALLBACK_PROFILE)!;
  }

  /**
   * The profile for a pane's process tree (programsInTree): the first process
   * an AI profile claims, else the first any profile claims (a bare shell),
   * else undefined. An AI CLI under a shell is the agent, not the shell.
   */
  detectInTree(tree: readonly string[][]): AgentProfile | undefined {
    const claim = (ai: boolean) => {
      for (const names of tree) {
        for (const profile of this.profiles.values()) if (profile.ai === ai && names.some((n) => profile.programs.includes(n))) return profile;
      }
      return undefined;
    };
    return claim(true) ?? claim(false);
  }

  /** Adds or changes one profile; a bad field is a UsageError naming it. */
  define(name: string, override: ProfileOverride): AgentProfile {
    if (!PROFILE_NAME.test(name) || name === AUTO_PROFILE) throw new UsageError(`Expected a profile name like my-claude (not ${AUTO_PROFILE}), got \`${name}\``);
    const baseName = override.extends ?? (this.profiles.has(name) ? name : undefined);
    if (baseName === undefined) throw new UsageError(`profile ${name}: a new profile needs \`extends:\` (one of ${this.names.join(', ')})`);
    const base = this.profiles.get(baseName);
    if (!base) throw new UsageError(`profile ${name}: extends unknown profile \`${baseName}\` (expected one of ${this.names.join(', ')})`);
    const { extends: _extends, screen, ...fields } = override;
    const merged: AgentProfile = { ...base, ...fields, name, programs: fields.programs ?? (baseName === name ? base.programs : []) };
    if (screen) merged.screen = { ...(base.screen ?? EMPTY_SCREEN), ...screen };
    checkProfile(merged);
    this.profiles.set(name, merged);
    this.overrides[name] = override;
    return merged;
  }
}

const EMPTY_SCREEN: ScreenPatterns = { input: '(?!)', placeholder: [], busy: [], waiting_input: [], rate_limited: [], compacting: [], pasted: [], network_error: [], reset_time: [] };

function checkProfile(p: AgentProfile): void {
  const bad = (field: string, message: string): never => {
    throw new UsageError(`profile ${p.name}: ${field}: ${message}`);
  };
  for (const field of ['submit_key', 'rescue_key'] as const) {
    if (!SUBMIT_KEY_PATTERN.test(p[field])) bad(field, `expected a key name like Enter or C-m, got \`${p[field]}\``);
  }
  for (const field of ['submit_delay', 'verify_ms', 'rescue_attempts'] as const) {
    if (!Number.isInteger(p[field]) || p[field] < 0 || p[field] > 60_000) bad(field, `expected a whole number from 0 to 60000, got ${p[field]}`);
  }
  if (p.screen) {
    for (const [field, value] of Object.entries(p.screen)) {
      for (const source of Array.isArray(value) ? value : [value]) {
        try {
          new RegExp(source as string, 'iu');
        } catch (error) {
          bad(`screen.${field}`, `not a regular expression: ${(error as Error).message}`);
        }
      }
    }
  }
}
