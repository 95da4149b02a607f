import type { Layout } from '../bus/layout.js';
import { readStateFile, updateStateFile } from '../bus/state-file.js';
import { ProfileSet } from './profiles.js';
import type { ProfileOverride } from './profile-types.js';

interface ProfilesFile {
  /** Topology file → the `profiles:` it defined. Several teams on one bus each keep theirs. */
  teams: Record<string, Record<string, ProfileOverride>>;
}

/**
 * The profiles of one bus: the built-ins, then every `profiles:` a topology
 * brought with `up` (saved in state/profiles.json). The router resolves an
 * agent's profile name through this, as `agents add` checks it.
 */
export function loadProfileSet(layout: Layout): ProfileSet {
  const saved = readStateFile<Partial<ProfilesFile>>(layout.profilesFile, {}).teams ?? {};
  const set = new ProfileSet();
  for (const overrides of Object.values(saved)) {
    for (const [name, override] of Object.entries(overrides)) {
      try {
        set.define(name, override);
      } catch {
        // `up` checked it when it saved it; one that no longer fits (its base went with another team) is left out, not fatal.
      }
    }
  }
  return set;
}

/** Saves (or, with none, forgets) the profiles one topology defined. */
export async function saveTopologyProfiles(layout: Layout, topologyFile: string, set: ProfileSet): Promise<void> {
  await updateStateFile<Partial<ProfilesFile>>(layout.profilesFile, {}, (current) => {
    const teams = { ...(current.teams ?? {}) };
    if (Object.keys(set.overrides).length > 0) teams[topologyFile] = set.overrides;
    else if (teams[topologyFile]) delete teams[topologyFile];
    else return { result: undefined };
    return { value: { teams }, result: undefined };
  });
}
