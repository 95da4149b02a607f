import { UsageError } from '../bus/errors.js';
import { renderTable } from '../bus/text-table.js';
import { ProfileSet } from '../agents/profiles.js';
import type { AgentProfile } from '../agents/profile-types.js';
import { printJson, printLine } from './context.js';

export interface ProfilesOptions {
  json?: boolean;
  /** A topology file whose `profiles:` change or add profiles. */
  file?: string;
}

async function profileSet(options: ProfilesOptions): Promise<ProfileSet> {
  if (!options.file) return new ProfileSet();
  const { loadTopology } = await import('../team/topology.js');
  return loadTopology(options.file).profiles;
}

/** `bmad-bus profiles [list]`: every profile, one line each. */
export async function profilesListCommand(options: ProfilesOptions): Promise<void> {
  const profiles = (await profileSet(options)).list();
  if (options.json) return printJson(profiles);
  printLine(renderTable(
    ['PROFILE', 'PROGRAMS', 'SUBMIT', 'DELAY', 'MULTILINE', 'POLICY', 'HOOKS', 'DESCRIPTION'],
    profiles.map((p) => [p.name, p.programs.join(',') || '-', p.submit_key, `${p.submit_delay}ms`, p.multiline, p.default_policy, p.hooks ?? '-', p.description]),
  ).join('\n'));
}

/** `bmad-bus profiles show NAME`: one profile in full, screen patterns included. */
export async function profilesShowCommand(name: string, options: ProfilesOptions): Promise<void> {
  const profile = (await profileSet(options)).get(name);
  if (!profile) throw new UsageError(`Unknown profile \`${name}\` (see \`bmad-bus profiles\`)`);
  if (options.json) return printJson(profile);
  printLine(describeProfile(profile));
}

function describeProfile(p: AgentProfile): string {
  const lines = [
    `${p.name}: ${p.description}`,
    `  programs (for --profile auto): ${p.programs.join(', ') || '(none)'}`,
    `  submit: ${p.submit_key} ${p.submit_delay} ms after the paste; line breaks: ${p.multiline}`,
    `  rescue: ${p.rescue_key} up to ${p.rescue_attempts} more time(s), ${p.verify_ms} ms each, then unconfirmed`,
    `  default policy: ${p.default_policy}; AI agent: ${p.ai ? 'yes' : 'no'}; hooks: ${p.hooks ?? 'none'}`,
    `  continue prompt (network_error, retry_with_backoff): ${p.continue_prompt === undefined ? '(none)' : JSON.stringify(p.continue_prompt)}`,
  ];
  if (!p.screen) lines.push('  screen: not read (no states beyond alive/dead)');
  else {
    lines.push('  screen patterns (regular expressions, case-insensitive):');
    for (const [field, value] of Object.entries(p.screen)) {
      const list = Array.isArray(value) ? value : [value];
      lines.push(`    ${field}: ${list.length > 0 ? list.map((v) => `/${v}/`).join('  ') : '(none)'}`);
    }
  }
  return lines.join('\n');
}
