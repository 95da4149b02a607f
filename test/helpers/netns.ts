import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import crypto from 'node:crypto';

/**
 * A throwaway network of Linux network namespaces for partition tests.
 *
 * Every named namespace gets one end of a veth pair (`v<i>a`) with an address
 * in a random 10.213.X.0/24; the other end (`v<i>b`) sits in a hub namespace
 * and is enslaved to a bridge there. Interface names are short because the
 * kernel caps them at 15 characters, and they only have to be unique per
 * namespace. Nothing is ever created in the root namespace: every `ip` call
 * goes through `ip -n <ns>`, and veth peers are born inside their namespace
 * (`peer ... netns <ns>`), so the host's interfaces and routes are untouched.
 */

/** Runs `ip ARGS` synchronously; throws with stderr on failure. */
function ip(args: string[]): string {
  const result = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

let skipReason: string | false | undefined;

/**
 * False when this process can make namespaces with a bridge and veth pairs
 * in them, else why not (for `{ skip }`). Probes in a namespace of its own,
 * which it deletes again.
 */
export function netnsSkipReason(): string | false {
  if (skipReason !== undefined) return skipReason;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return (skipReason = 'netns tests need root (ip netns add)');
  const probe = `bmad-${process.pid}-probe-${crypto.randomBytes(2).toString('hex')}`;
  try {
    ip(['netns', 'add', probe]);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return (skipReason = e.code === 'ENOENT' ? 'iproute2 (ip) is not installed' : `ip netns add is not permitted here: ${e.message}`);
  }
  try {
    // Some sandboxes allow namespaces but lack the bridge or veth drivers.
    ip(['-n', probe, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', probe, 'link', 'add', 'v0a', 'type', 'veth', 'peer', 'name', 'v0b']);
    skipReason = false;
  } catch (error) {
    skipReason = `no bridge/veth support in network namespaces: ${(error as Error).message}`;
  } finally {
    spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  }
  return skipReason;
}

/** Labs not yet destroyed, torn down on exit in case a test forgets. */
const live = new Set<NetLab>();
process.on('exit', () => {
  for (const lab of live) lab.destroy();
});

export class NetLab {
  /** Every namespace this lab made and has not deleted yet, the hub last. */
  private readonly made: string[] = [];
  private readonly index = new Map<string, number>();

  private constructor(
    readonly prefix: string,
    readonly subnet: string,
  ) {}

  /** Namespaces for `names` (short words: they end up in namespace names), all on one bridge. */
  static create(names: string[]): NetLab {
    if (names.length === 0 || names.length > 250) throw new Error('NetLab needs 1..250 names');
    for (const name of names) {
      if (!/^[a-z0-9]{1,12}$/i.test(name) || name === 'hub') throw new Error(`bad NetLab name: ${JSON.stringify(name)}`);
    }
    if (new Set(names).size !== names.length) throw new Error('NetLab names must be unique');
    const lab = new NetLab(`bmad-${process.pid}-${crypto.randomBytes(2).toString('hex')}`, `10.213.${crypto.randomInt(256)}`);
    live.add(lab);
    try {
      const hub = lab.add('hub');
      ip(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
      ip(['-n', hub, 'link', 'set', 'br0', 'up']);
      names.forEach((name, i) => {
        lab.index.set(name, i);
        const ns = lab.add(name);
        ip(['-n', hub, 'link', 'add', `v${i}b`, 'type', 'veth', 'peer', 'name', `v${i}a`, 'netns', ns]);
        ip(['-n', hub, 'link', 'set', `v${i}b`, 'master', 'br0', 'up']);
        ip(['-n', ns, 'addr', 'add', `${lab.address(name)}/24`, 'dev', `v${i}a`]);
        ip(['-n', ns, 'link', 'set', `v${i}a`, 'up']);
      });
    } catch (error) {
      lab.destroy();
      throw error;
    }
    return lab;
  }

  /** `ip netns add` with `lo` up (some programs bind or probe 127.0.0.1). */
  private add(name: string): string {
    const ns = `${this.prefix}-${name}`;
    ip(['netns', 'add', ns]);
    // The hub goes last so the named namespaces (and their processes) go first.
    if (name === 'hub') this.made.push(ns);
    else this.made.splice(this.made.length - 1, 0, ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  private at(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`no namespace ${JSON.stringify(name)} in this lab`);
    return i;
  }

  /** The IPv4 address of `name` (.1, .2, ... in the order given to create). */
  address(name: string): string {
    return `${this.subnet}.${this.at(name) + 1}`;
  }

  /** The full namespace name, for `ip netns exec` and friends. */
  namespace(name: string): string {
    this.at(name);
    return `${this.prefix}-${name}`;
  }

  /** Spawns `argv` inside `name`. `ip netns exec` execs (it does not fork), so `child.pid` is the program's own pid. */
  exec(name: string, argv: string[], options: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions; cwd?: string } = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.namespace(name), ...argv], {
      env: options.env ?? process.env,
      stdio: options.stdio ?? 'pipe',
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
  }

  /** Runs `argv` inside `name` to completion. */
  run(name: string, argv: string[], timeoutMs = 30_000): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync('ip', ['netns', 'exec', this.namespace(name), ...argv], { encoding: 'utf8', timeout: timeoutMs });
    return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
  }

  /** Partitions `name` off: its cable is pulled at the hub end, so its own interface keeps its address but loses carrier. */
  linkDown(name: string): void {
    ip(['-n', `${this.prefix}-hub`, 'link', 'set', `v${this.at(name)}b`, 'down']);
  }

  /**
   * Heals the partition. ARP attempts made while the link was down leave FAILED
   * neighbour entries behind, and the first connect after the heal would fail
   * at once on them (EHOSTUNREACH); flush them so the heal is clean.
   */
  linkUp(name: string): void {
    const i = this.at(name);
    ip(['-n', `${this.prefix}-hub`, 'link', 'set', `v${i}b`, 'up']);
    for (const [other, j] of this.index) {
      const ns = `${this.prefix}-${other}`;
      ip(['-n', ns, 'neigh', 'flush', ...(other === name ? ['dev', `v${i}a`] : ['to', this.address(name), 'dev', `v${j}a`])]);
    }
  }

  /**
   * Kills whatever still runs in the lab's namespaces (by pid, as `ip netns pids`
   * lists them), then deletes the namespaces. Synchronous so that the exit hook
   * can call it; safe to call twice.
   */
  destroy(): void {
    for (const ns of this.made) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
      for (const pid of pids.split('\n').filter(Boolean).map(Number)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const ns of this.made.splice(0)) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
    live.delete(this);
  }
}
