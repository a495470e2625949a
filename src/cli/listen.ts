/**
 * `--listen [PORT]` for every command that makes sound (`lts`, `lts render`, `lts osc`): flag
 * parsing, start-up and the lines printed on stderr. The server itself is
 * {@link ListenServer} (src/io/listen-server.ts); the wiring helpers are in src/io/listen-bridge.ts.
 *
 * The flag takes an optional value, which `node:util` `parseArgs` cannot express, so
 * {@link extractListenFlags} removes it from argv before a command parses the rest:
 * `--listen` (port 7070), `--listen 7071`, `--listen=7071`, and `--listen-host ADDR` for an
 * address other than 127.0.0.1 (printed with a warning).
 */
import { hostname } from 'node:os';
import { UserError } from '../io/errors.ts';
import { ListenServer, LISTEN_DEFAULT_PORT } from '../io/listen-server.ts';
import { makeFolders } from '../io/folders.ts';

/** What `--listen` asked for. */
export interface ListenFlags {
  /** TCP port (default {@link LISTEN_DEFAULT_PORT}, 7070); 0 picks a free one. */
  port: number;
  /** Address to bind; absent = 127.0.0.1. */
  host?: string;
}

/** Help lines for the commands' `--help` (two options, aligned like the other option lists). */
export const LISTEN_HELP = `  --listen [PORT]       play in a browser: serve a page on 127.0.0.1:PORT (default ${LISTEN_DEFAULT_PORT}) and print
                        its URL; over SSH: ssh -L ${LISTEN_DEFAULT_PORT}:localhost:${LISTEN_DEFAULT_PORT} HOST, open the URL on the laptop
  --listen-host ADDR    bind the page to ADDR instead of 127.0.0.1 (reachable from the network; token still needed)`;

function parsePort(text: string, flag: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isInteger(x) || x < 0 || x > 65535) {
    throw new UserError(`${flag} '${text}' is not a TCP port; use a whole number from 1 to 65535, e.g. --listen 7070`);
  }
  return x;
}

/**
 * Take `--listen [PORT]`, `--listen=PORT` and `--listen-host ADDR` out of `argv`.
 *
 * The argument after `--listen` is its port unless it starts with `-` (the commands take no
 * positional arguments), so `--listen --model m` keeps its other flags and `--listen abc` is a
 * clear error. Scanning stops at `--`.
 *
 * @param argv Arguments of the command (without the command name).
 * @returns The remaining arguments, and the listen request or null when `--listen` is absent.
 * @throws UserError for a bad port, a repeated flag, or `--listen-host` without `--listen`.
 */
export function extractListenFlags(argv: readonly string[]): { argv: string[]; listen: ListenFlags | null } {
  const rest: string[] = [];
  let port: number | null = null;
  let host: string | undefined;
  let seen = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--listen' || a.startsWith('--listen=')) {
      if (seen) throw new UserError('--listen is given twice; give it once, e.g. --listen 7070');
      seen = true;
      if (a.startsWith('--listen=')) port = parsePort(a.slice('--listen='.length), '--listen');
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('-')) port = parsePort(argv[++i], '--listen');
      else port = LISTEN_DEFAULT_PORT;
      continue;
    }
    if (a === '--listen-host' || a.startsWith('--listen-host=')) {
      if (host !== undefined) throw new UserError('--listen-host is given twice; give it once');
      const v = a.startsWith('--listen-host=') ? a.slice('--listen-host='.length) : argv[++i];
      if (v === undefined || v === '' || v.startsWith('-')) throw new UserError('--listen-host needs an address, e.g. --listen-host 0.0.0.0');
      host = v;
      continue;
    }
    rest.push(a);
  }
  if (host !== undefined && !seen) throw new UserError('--listen-host needs --listen too, e.g. --listen 7070 --listen-host 0.0.0.0');
  return { argv: rest, listen: seen ? { port: port ?? LISTEN_DEFAULT_PORT, ...(host !== undefined ? { host } : {}) } : null };
}

/**
 * The lines to print when the server is up: the URL, the SSH recipe, and a warning when the
 * page is reachable from the network.
 *
 * @param server The running server.
 * @param machine Name of this host for the ssh hint (default `os.hostname()`).
 */
export function listenBanner(server: Pick<ListenServer, 'url' | 'port' | 'warning'>, machine: string = hostname()): string[] {
  const lines = [`listen: open ${server.url} in a browser`];
  if (server.warning) lines.push(`listen: warning: ${server.warning}`);
  else lines.push(`listen: from another computer: ssh -L ${server.port}:localhost:${server.port} ${machine}, then open the URL there`);
  return lines;
}

/**
 * Start the server for a command: create the renders folder if needed, bind, and print
 * {@link listenBanner} through `log`.
 *
 * @param flags From {@link extractListenFlags}.
 * @param rendersDir The folder renders are written to (the only folder the page may download from).
 * @param log Where the lines go, default stderr (never stdout: `lts render` prints the WAV path there).
 * @throws UserError when the port is in use or the address cannot be bound.
 */
export async function startListening(
  flags: ListenFlags,
  rendersDir: string,
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<ListenServer> {
  makeFolders(rendersDir);
  const server = await ListenServer.start({ port: flags.port, host: flags.host, rendersDir });
  for (const line of listenBanner(server)) log(line);
  return server;
}
