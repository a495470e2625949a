/**
 * `lts osc`: the OSC server for the Max patch of the original Latent Timbre Synthesis.
 */
import { parseCommandArgs } from './args.ts';
import { parseBackendPreference } from '../engine/backend.ts';
import { UserError } from '../io/errors.ts';
import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { OscServer, OSC_DEFAULT_PORT, OSC_DEFAULT_REPLY_PORT } from '../engine/osc-server.ts';
import { RenderWorker } from '../engine/render-worker.ts';
import { createAudioOutput } from '../io/audio-out.ts';
import { listenAudioOutput, listenRenderer, followOsc } from '../io/listen-bridge.ts';
import { extractListenFlags, startListening, LISTEN_HELP } from './listen.ts';

/** Text of `lts osc --help`. */
export const OSC_HELP = `usage: lts osc [--port ${OSC_DEFAULT_PORT}] [--reply-port ${OSC_DEFAULT_REPLY_PORT}] [options]

Serve the OSC protocol of the original Latent Timbre Synthesis engine, so its Max patch
(max_ui.maxpat) drives lts: load a dataset and a model (an lts model folder or an original
run-NNN folder, imported on the fly), choose two sounds, draw the curve, generate, play, save.

  --port N            UDP port to listen on (default: ${OSC_DEFAULT_PORT}, as the original)
  --reply-port N      UDP port replies are sent to (default: ${OSC_DEFAULT_REPLY_PORT}, as the original)
  --host ADDR         interface to listen on (default: 127.0.0.1; 0.0.0.0 listens on every interface)
  --reply-host ADDR   host replies are sent to (default: 127.0.0.1)
  --renders DIR       folder for numbered renders with their JSON sidecars (default: ./renders)
  --import-cache DIR  where imported original runs are kept (default: ~/.cache/lts/imported)
  --backend B         auto | tensorflow | wasm | cpu (default: auto)
  --quiet             do not print received messages and reports
${LISTEN_HELP}
  -h, --help          this help

Stop with Ctrl-C.`;

function portFlag(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < 1 || x > 65535) throw new UserError(`${flag} '${v}' is not a UDP port; use a whole number from 1 to 65535`);
  return x;
}

/**
 * `lts osc`; resolves to the exit code when the server stops (SIGINT/SIGTERM, or `opts.signal`).
 *
 * @param argv Arguments after `osc`.
 * @param opts.signal Stops the server when aborted (for embedding and tests).
 * @param opts.onListening Called once the server listens, with its address.
 */
export async function oscCommand(
  argvIn: string[],
  opts: { signal?: AbortSignal; onListening?: (local: { address: string; port: number }) => void } = {},
): Promise<number> {
  const { argv, listen } = extractListenFlags(argvIn);
  const parsed = parseCommandArgs('osc', argv, {
    port: { type: 'string' },
    'reply-port': { type: 'string' },
    host: { type: 'string' },
    'reply-host': { type: 'string' },
    renders: { type: 'string' },
    'import-cache': { type: 'string' },
    backend: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;
  if (v.help) {
    console.log(OSC_HELP);
    return 0;
  }
  const port = portFlag(v.port, '--port', OSC_DEFAULT_PORT);
  const replyPort = portFlag(v['reply-port'], '--reply-port', OSC_DEFAULT_REPLY_PORT);
  if (v.backend !== undefined) parseBackendPreference(v.backend);
  checkRendersFolder(v.renders);
  if (v['reply-host'] !== undefined) await checkHost(v['reply-host'], '--reply-host');
  const log = v.quiet ? undefined : (line: string) => console.log(line);
  // --listen: renders and playback also go to the browser page (see README, "Listening over SSH").
  const page = listen ? await startListening(listen, resolve(v.renders ?? 'renders'), (line) => console.error(line)) : null;
  const audio = page ? listenAudioOutput(page, createAudioOutput()) : undefined;
  const renderer = page ? listenRenderer(page, RenderWorker.start({ backend: v.backend })) : undefined;
  const closeListening = async () => {
    audio?.close();
    await renderer?.close();
    await page?.close();
  };
  let server: OscServer;
  try {
    server = await OscServer.start({
      port,
      replyPort,
      host: v.host,
      replyHost: v['reply-host'],
      rendersDir: v.renders,
      importDir: v['import-cache'],
      backend: v.backend,
      log,
      audio,
      renderer,
    });
  } catch (e) {
    await closeListening();
    throw e;
  }
  const unfollow = page ? followOsc(page, server) : () => undefined;
  console.error(
    `lts osc: listening on ${server.local.address}:${server.local.port}, replies to ${server.replyTo.host}:${server.replyTo.port}; Ctrl-C to stop`,
  );
  opts.onListening?.(server.local);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (opts.signal?.aborted) resolve();
    opts.signal?.addEventListener('abort', stop, { once: true });
  });
  unfollow();
  await server.close();
  await closeListening();
  console.error('lts osc: stopped');
  return 0;
}

/**
 * Refuse a `--renders` that cannot hold renders before the server starts (the first render would fail):
 * an empty value or a file in the folder's place. A missing folder is created at the first render.
 */
function checkRendersFolder(dir: string | undefined): void {
  if (dir === undefined) return;
  if (dir.trim() === '') throw new UserError('--renders is empty; give a folder such as --renders renders, or leave it out for ./renders');
  let isFile = false;
  try {
    isFile = !statSync(dir).isDirectory();
  } catch {
    return; // missing: created when the first render is written
  }
  if (isFile) throw new UserError(`--renders ${dir} is a file, not a folder; give a folder for the renders (it is created if missing)`);
}

/** Refuse a host name that does not resolve, before the server starts (replies would go nowhere). */
async function checkHost(host: string, flag: string): Promise<void> {
  try {
    await lookup(host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new UserError(`${flag} ${host}: the host name does not resolve (${code}); give an IP address such as 127.0.0.1, or a host name that resolves`);
  }
}
