import os from 'node:os';
import path from 'node:path';
import { pairPipeName, assertName } from './names.js';

/** Where the bus root is: `--dir`, else `$BMAD_BUS_DIR`, else `/tmp/bmad-bus-<uid>`. */
export function resolveRoot(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = dir ?? env.BMAD_BUS_DIR;
  if (chosen) return path.resolve(chosen);
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().uid;
  // Always /tmp, not $TMPDIR: a shell script, an agent and the CLI started with
  // different environments must all find the same bus.
  return path.join('/tmp', `bmad-bus-${uid}`);
}

/**
 * The on-disk layout of one bus root. Every path of the bus is computed here
 * and nowhere else, so the router, the CLI, the keeper and the library agree.
 */
export class Layout {
  readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  // The pipes writers write into.
  get orchestratorPipe(): string { return path.join(this.root, 'orchestrator.pipe'); }
  get broadcastPipe(): string { return path.join(this.root, 'broadcast.pipe'); }
  /** General ingress: envelopes that name their own `to`; what `bmad-bus send` uses. */
  get busPipe(): string { return path.join(this.root, 'bus.pipe'); }
  get agentsDir(): string { return path.join(this.root, 'agents'); }
  pairPipe(from: string, to: string): string { return path.join(this.agentsDir, pairPipeName(from, to)); }

  // Where agents read.
  get inboxDir(): string { return path.join(this.root, 'inbox'); }
  inboxPipe(agent: string): string { return path.join(this.inboxDir, `${assertName(agent)}.pipe`); }

  // Durable records.
  get journalDir(): string { return path.join(this.root, 'journal'); }
  /** The router's write-ahead log of raw pipe reads, and the mark where its replay starts. */
  get intakeMarkFile(): string { return path.join(this.journalDir, 'intake.mark'); }
  get deadLetterFile(): string { return path.join(this.root, 'deadletter.ndjson'); }
  get spoolDir(): string { return path.join(this.root, 'spool'); }
  get logDir(): string { return path.join(this.root, 'log'); }
  get routerLog(): string { return path.join(this.logDir, 'router.log'); }

  // Locked state files.
  get stateDir(): string { return path.join(this.root, 'state'); }
  get registryFile(): string { return path.join(this.stateDir, 'agents.json'); }
  get cursorsFile(): string { return path.join(this.stateDir, 'cursors.json'); }
  /** What each agent's own hooks last said it is doing (agents/agent-state-store.ts). */
  get agentStatesDir(): string { return path.join(this.stateDir, 'agent-states'); }
  agentStateFile(agent: string): string { return path.join(this.agentStatesDir, `${assertName(agent)}.json`); }
  /** The prompts each agent's hooks reported as submitted: the receipts of pane deliveries. */
  get receiptsDir(): string { return path.join(this.stateDir, 'receipts'); }
  receiptsFile(agent: string): string { return path.join(this.receiptsDir, `${assertName(agent)}.ndjson`); }
  /** Each pane delivery's path (typed, submitted, received, unconfirmed), for `trace` (bus/delivery-trail.ts). */
  get trailsDir(): string { return path.join(this.stateDir, 'trails'); }
  trailFile(agent: string): string { return path.join(this.trailsDir, `${assertName(agent)}.ndjson`); }
  /** Profiles a topology changed or added (`profiles:`), saved by `up` so the router and the CLI resolve the same names. */
  get profilesFile(): string { return path.join(this.stateDir, 'profiles.json'); }
  /** Where each `role:` round robin stands; written only by the journal's writer (see bus/role-turns.ts). */
  get roleTurnsFile(): string { return path.join(this.stateDir, 'role-turns.json'); }
  get readCursorsDir(): string { return path.join(this.stateDir, 'read'); }
  readCursorFile(agent: string): string { return path.join(this.readCursorsDir, `${assertName(agent)}.json`); }
  /** What an agent's hooks handed over last and is not yet confirmed taken (delivery mode `hooks`). */
  get handoffsDir(): string { return path.join(this.stateDir, 'handoffs'); }
  handoffFile(agent: string): string { return path.join(this.handoffsDir, `${assertName(agent)}.json`); }
  /** The lock that makes one router (or keeper) per root. */
  get routerLockTarget(): string { return path.join(this.stateDir, 'router'); }
  /** What the running router reports about itself (pids, counters), for `status`. */
  get routerStatusFile(): string { return path.join(this.stateDir, 'router-status.json'); }
  get keeperStatusFile(): string { return path.join(this.stateDir, 'keeper.json'); }
  /** The NATS bridge's cursor in the journal (what it published), and what it reports about itself, for `status`. */
  get bridgeCursorFile(): string { return path.join(this.stateDir, 'bridge-cursor.json'); }
  get bridgeStatusFile(): string { return path.join(this.stateDir, 'bridge-status.json'); }
  /** The ids the bridge journaled from NATS that its outbound side has not passed yet (channels/bridge-arrivals.ts). */
  get bridgeArrivalsFile(): string { return path.join(this.stateDir, 'bridge-arrivals'); }
  /** `bmad-bus web`'s access token (0600), and where a running one listens. */
  get webTokenFile(): string { return path.join(this.stateDir, 'web-token'); }
  get webStatusFile(): string { return path.join(this.stateDir, 'web.json'); }
  /** The one-bridge-per-root lock. */
  get bridgeLockTarget(): string { return path.join(this.stateDir, 'bridge'); }
  get tasksFile(): string { return path.join(this.stateDir, 'tasks.json'); }
  get teamFile(): string { return path.join(this.stateDir, 'team.json'); }
  /** The supervisor's own state: how far it read results, the agents it spawned by scaling. */
  get supervisorFile(): string { return path.join(this.stateDir, 'supervisor.json'); }
  get knowledgeFile(): string { return path.join(this.root, 'knowledge.ndjson'); }

  /** The FIFOs that always exist in an initialised root. */
  get fixedPipes(): string[] { return [this.orchestratorPipe, this.broadcastPipe, this.busPipe]; }
  /** The directories of an initialised root, each mode 0700. */
  get directories(): string[] {
    return [this.agentsDir, this.inboxDir, this.journalDir, this.spoolDir, this.stateDir, this.readCursorsDir, this.agentStatesDir, this.receiptsDir, this.trailsDir, this.handoffsDir, this.logDir];
  }
}
