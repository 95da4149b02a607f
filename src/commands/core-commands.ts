import { Option, type Command } from 'commander';
import { DEFAULT_SENDER } from '../bus/names.js';
import { DELIVERY_MODES } from '../bus/registry.js';
import { globals } from './context.js';

/**
 * The bus core's commands. Declarations only: each action imports its
 * implementation when it runs, so start-up stays lean (`send` is on scripts'
 * hot paths).
 */
export function registerCoreCommands(program: Command): void {
  program
    .command('init')
    .description('create the bus root (idempotent) and print its path')
    .option('--json', 'print as JSON')
    .action(async (opts, cmd: Command) => (await import('./init.js')).init({ ...globals(cmd), ...opts }));

  const agents = program
    .command('agents')
    .description('the agent registry (default: list)')
    .option('--json', 'print as JSON')
    .action(async (opts, cmd: Command) => (await import('./agents.js')).listAgents({ ...globals(cmd), ...opts }));
  agents
    .command('list')
    .description('list registered agents')
    .option('--json', 'print as JSON')
    .action(async (opts, cmd: Command) => (await import('./agents.js')).listAgents({ ...globals(cmd), ...opts }));
  agents
    .command('add <name>')
    .description('register an agent and create its inbox FIFO')
    .option('--role <role>', 'its role (for role: addressing and task scheduling)')
    .option('--tmux <target>', 'its tmux pane (e.g. %3 or session:window.pane)')
    .addOption(new Option('--deliver <mode>', 'how it gets messages: its inbox FIFO, typed into its pane, both, by its CLI\'s hooks (hooks; run `bmad-bus hooks install` too), or none').choices([...DELIVERY_MODES]))
    .option('--profile <name>', 'its agent CLI profile (`bmad-bus profiles`), or auto: chosen by --command', 'auto')
    .addOption(new Option('--policy <policy>', "when its pane is typed into (default: the profile's)").choices(['when-idle', 'immediate']))
    .addOption(new Option('--multiline <mode>', "line breaks in a pasted message: join into one line, or keep (default: the profile's)").choices(['join', 'keep']))
    .option('--submit <key>', "key that submits a pasted message (default: the profile's, Enter)")
    .option('--submit-delay <ms>', "milliseconds between paste and submit key (default: the profile's)")
    .option('--command <program>', 'the program the pane is expected to run (a bare shell there is not typed into)')
    .option('--template <text>', 'how a message is rendered in the pane ({from} {to} {body} {id} {type} {ts})')
    .option('--json', 'print the record as JSON')
    .action(async (name: string, opts, cmd: Command) => (await import('./agents.js')).addAgentCommand(name, { ...globals(cmd), ...opts }));
  agents
    .command('rm <name>')
    .alias('remove')
    .description('unregister an agent and remove its inbox FIFO')
    .action(async (name: string, _opts, cmd: Command) => (await import('./agents.js')).removeAgentCommand(name, globals(cmd)));

  program
    .command('pipe <from> <to>')
    .description('create the pair FIFO agents/<from>-to-<to>.pipe if missing and print its path')
    .action(async (from: string, to: string, _opts, cmd: Command) => (await import('./pipe.js')).pipe(from, to, globals(cmd)));

  program
    .command('send <to> [message...]')
    .description('send a message (body from the arguments, else one message per stdin line); prints the id')
    .option('--from <name>', `sender (default: $BMAD_AGENT, else ${DEFAULT_SENDER})`)
    .option('--type <type>', 'message type', 'message')
    .option('--thread <id>', 'thread id')
    .option('--reply-to <id>', 'id of the message this answers')
    .option('--body-json', 'the message is JSON: send the parsed value as the body')
    .option('--json', 'print the stamped envelopes as NDJSON instead of ids')
    .action(async (to: string, message: string[], opts, cmd: Command) => (await import('./send.js')).sendCommand(to, message, { ...globals(cmd), ...opts }));

  program
    .command('broadcast [message...]')
    .description('send a message to every registered agent but the sender (to: *)')
    .option('--from <name>', `sender (default: $BMAD_AGENT, else ${DEFAULT_SENDER})`)
    .option('--type <type>', 'message type', 'message')
    .option('--body-json', 'the message is JSON: send the parsed value as the body')
    .option('--json', 'print the stamped envelopes as NDJSON instead of ids')
    .action(async (message: string[], opts, cmd: Command) => (await import('./send.js')).sendCommand('*', message, { ...globals(cmd), ...opts }));

  program
    .command('read <agent>')
    .description("an agent's messages from the journal, from its own read position")
    .option('-f, --follow', 'keep waiting for new messages')
    .option('--all', 'every message the journal holds for the agent (read position unchanged)')
    .option('--json', 'print envelopes as NDJSON')
    .action(async (agent: string, opts, cmd: Command) => (await import('./read.js')).readCommand(agent, { ...globals(cmd), ...opts }));

  program
    .command('tail')
    .description('all traffic, live: one line per message, dead letters marked')
    .option('--from <name>', 'only messages from this sender')
    .option('--to <address>', 'only messages to this address')
    .option('--type <type>', 'only messages of this type')
    .option('--since <duration>', 'only messages newer than this (e.g. 10m)')
    .option('-n, --lines <n>', 'how many past messages to show first (default 10, or all with --since)')
    .option('--no-follow', 'print and exit instead of following')
    .option('--json', 'raw NDJSON')
    .action(async (opts, cmd: Command) => (await import('./tail.js')).tailCommand({ ...globals(cmd), ...opts }));

  program
    .command('router')
    .description('run the router in the foreground (see start/stop for the background)')
    .addOption(new Option('--durability <mode>', 'fsync per batch, per message, or never').choices(['batch', 'message', 'never']))
    .option('--hold <duration>', 'how long messages for unknown agents wait before they are dead-lettered (default 60s)')
    .option('--max-line <bytes>', 'longest accepted line (default 1MiB)')
    .action(async (opts, cmd: Command) => (await import('./router.js')).routerCommand({ ...globals(cmd), ...opts }));

  program
    .command('bridge')
    .description('carry messages between this bus and the team on other machines, through NATS JetStream (foreground)')
    .option('--nats <url>', 'NATS server URL(s), comma-separated (default $BMAD_NATS_URL)')
    .option('--name <machine>', 'this machine in the team (default $BMAD_NATS_NAME, else the host name)')
    .option('--stream <name>', 'the JetStream stream, subject prefix and KV bucket prefix (default $BMAD_NATS_STREAM, else bmad)')
    .option('--creds <file>', 'a NATS credentials file (default $BMAD_NATS_CREDS)')
    .option('--token <token>', 'a NATS token (default $BMAD_NATS_TOKEN)')
    .option('--user <user>', 'a NATS user, with --password (default $BMAD_NATS_USER)')
    .option('--password <password>', 'its password (default $BMAD_NATS_PASSWORD)')
    .option('--tls-ca <file>', 'a CA file for TLS (default $BMAD_NATS_TLS_CA)')
    .addHelpText('after', `
Each machine runs its own bus and one bridge. Agents are published in the KV bucket <stream>-agents
(a name belongs to one machine); a message with recipients on other machines is published to
<stream>.to.<machine> with Nats-Msg-Id = its id, and each bridge journals what comes for its machine.
While NATS is unreachable, messages for other machines wait in the local journal; local traffic goes on.`)
    .action(async (opts, cmd: Command) => (await import('./bridge.js')).bridgeCommand({ ...globals(cmd), ...opts }));

  program
    .command('web')
    .description('the team in a browser: live traffic, agents and their panes, tasks, events, a send box (foreground)')
    .option('--port <n>', 'port to listen on (default $BMAD_WEB_PORT, else 7341; 0: any free one)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--allow-remote', 'let --host be an address other machines reach')
    .option('--open', 'open the page in the browser (xdg-open)')
    .option('--new-token', 'make a new access token (pages opened with the old one are locked out)')
    .addHelpText('after', `
Prints the page's URL with its access token (kept in state/web-token). Every request needs the token;
after the first page it travels as an HttpOnly, SameSite=Strict cookie. POSTs must come from the page.`)
    .action(async (opts, cmd: Command) => (await import('./web.js')).webCommand({ ...globals(cmd), ...opts }));

  program
    .command('_keeper', { hidden: true })
    .description('(internal) the background keeper that `start` runs')
    .option('--topology <file>', 'topology file for the supervisor')
    .option('--bridge', 'run the NATS bridge too (its settings in BMAD_NATS_*)')
    .option('--web', 'run the web view too (its port in BMAD_WEB_PORT)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts, cmd: Command) => (await import('./router.js')).keeperCommand({ ...globals(cmd), ...opts }, cmd.args));

  program
    .command('start')
    .description('run the router in the background under a keeper that restarts it')
    .addOption(new Option('--durability <mode>', 'fsync per batch, per message, or never').choices(['batch', 'message', 'never']))
    .option('--hold <duration>', 'how long messages for unknown agents wait (default 60s)')
    .option('--nats <url>', 'run the NATS bridge (`bmad-bus bridge`) under the keeper too; its other settings from BMAD_NATS_*')
    .option('--web', 'run the web view (`bmad-bus web`) under the keeper too, and print its URL; port from BMAD_WEB_PORT (default 7341)')
    .option('--json', 'print pids as JSON')
    .action(async (opts, cmd: Command) => (await import('./daemon.js')).startCommand({ ...globals(cmd), ...opts }));

  program
    .command('stop')
    .description('stop the background router and its keeper (or a foreground router)')
    .action(async (_opts, cmd: Command) => (await import('./daemon.js')).stopCommand(globals(cmd)));

  program
    .command('trace <id>')
    .description("a message's way: queued, then per recipient typed → submitted → received, or unconfirmed, with times")
    .option('--json', 'print as JSON')
    .action(async (id: string, opts, cmd: Command) => (await import('./trace.js')).traceCommand(id, { ...globals(cmd), ...opts }));

  program
    .command('status')
    .description("the router's state, each agent's undelivered messages, and the panes")
    .option('--json', 'print as JSON')
    .action(async (opts, cmd: Command) => (await import('./status.js')).statusCommand({ ...globals(cmd), ...opts }));

  program
    .command('prune')
    .description('delete journal segments older than DURATION that no cursor still needs')
    .requiredOption('--older-than <duration>', 'e.g. 7d, 12h')
    .option('--dry-run', 'say what would be deleted')
    .option('--json', 'print as JSON')
    .action(async (opts, cmd: Command) => (await import('./prune.js')).pruneCommand({ ...globals(cmd), ...opts }));

}
