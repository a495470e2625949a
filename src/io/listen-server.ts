/**
 * Remote listening (issue 8): hear the instrument in a browser while it runs on another host.
 *
 * A small HTTP + WebSocket server, bound to 127.0.0.1 unless another address is given
 * explicitly. The recipe over SSH: `ssh -L 7070:localhost:7070 gpuhost`, run `lts --listen 7070`
 * there, and open the printed URL (`http://localhost:7070/?token=…`) in the laptop's browser.
 *
 * What it serves, and nothing else:
 * - `/` (the page), `/app.js`, `/worklet.js`, `/style.css` from `src/io/listen-page/`;
 * - `/renders/NAME` — a `.wav` or `.json` file directly inside the renders folder, as a download;
 * - `/ws` — the WebSocket the page receives everything through.
 *
 * Security (shared GPU hosts): every request and WebSocket upgrade must carry the random token
 * of the URL (`?token=`, compared in constant time), otherwise the answer is 403. Requests whose
 * `Origin` is not the page's own origin, or whose `Sec-Fetch-Site` says `cross-site`/`same-site`,
 * are refused (403), and on a loopback binding so are `Host` names other than `localhost`,
 * `127.0.0.1` and `[::1]` (DNS rebinding). A path containing `..` (also percent-encoded), a
 * backslash or a NUL byte is refused (403); there is no directory listing; only GET and HEAD are
 * answered. The page is read-only: it can start its own audio, never control the instrument.
 *
 * Protocol on `/ws` (server → page). Text frames are JSON:
 * - `hello` `{ state, renders, current, live }` on connect;
 * - `state` `{ state }` ({@link ListenState}), `renders` `{ renders }` ({@link ListenRender}[]);
 * - `render` `{ id, name, url, sampleRate, length, peakDbfs, play }` — followed by one binary frame with its samples;
 * - `play` `{ id }`, `stop` `{}` — follow the instrument's Play again / Stop;
 * - `live-open` `{ id, sampleRate, prebufferMs, maxBufferMs }`, `live-close` `{ id }`.
 *
 * Binary frames: a 16-byte little-endian header — uint32 kind (1 = render samples, 2 = live
 * PCM), uint32 id (render or stream id), float64 index of the first sample (0 for a render;
 * the stream position for live PCM, so the page detects gaps) — then mono float32 samples.
 *
 * Page → server: JSON reports ({@link PageReport}) that the page computes from what it actually
 * received, decoded and played (checksums of the samples, first-sample output times, underruns
 * of the live stream); {@link ListenServer.onReport} hands them to callers (the CLI waits for
 * `received`; tests and `bench/listen.ts` check and time them). They never change the instrument.
 *
 * Live audio is paced by the wall clock: {@link ListenLiveStream.write} resolves once the
 * stream is no more than `leadMs` ahead of real time, so a producer that awaits it (like
 * `LiveEngine.start` awaiting a device stream) runs in real time without any page attached. The
 * page's AudioWorklet keeps a jitter buffer: it starts after `prebufferMs`, counts an underrun
 * when it runs dry, drops the oldest audio beyond `maxBufferMs` (clock drift), and skips, with a
 * short crossfade, an excess over the prebuffer that lasts a second (after a stall of the sender
 * and its catch-up burst), so the latency returns to its design value.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { readFileSync, realpathSync, statSync, readdirSync, createReadStream } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, WebSocket } from 'ws';
import { UserError } from './errors.ts';

/** One excerpt as the page shows it. */
export interface ListenExcerpt {
  /** File name or path relative to the dataset (shown as is). */
  file: string;
  /** Excerpt start in seconds, or null when unknown (only the file is shown). */
  start?: number | null;
}

/** The knob (live amount, OSC alfa, …) as the page shows it. */
export interface ListenKnob {
  /** What the knob controls, e.g. `amount a`. */
  label: string;
  value: number;
  /** Range of the meter drawn, default 0..1. */
  min?: number;
  max?: number;
}

/**
 * What is playing, as published by the instrument; every field is optional and shown read-only.
 * {@link ListenServer.publishState} replaces the whole state.
 */
export interface ListenState {
  /** Which program publishes, e.g. `lts`, `lts render`, `lts osc`. */
  source?: string;
  /** Model folder name. */
  model?: string | null;
  a?: ListenExcerpt | null;
  b?: ListenExcerpt | null;
  /** Shared excerpt duration in seconds. */
  duration?: number | null;
  /**
   * The curve: amount of A (a = 1 is A, 0 is B) at evenly spaced times over the excerpt,
   * first value at the start, last at the end. At most {@link MAX_CURVE_POINTS} values are kept
   * (longer curves are resampled linearly).
   */
  curve?: number[] | null;
  /** Vertical range to draw the curve in, default [0, 1] widened to the values. */
  curveRange?: [number, number] | null;
  knob?: ListenKnob | null;
  /** One line of status, e.g. `rendering: phase 40 %`. */
  status?: string | null;
  /** What the instrument plays now, or null. */
  playing?: string | null;
}

/** A render in the page's list. */
export interface ListenRender {
  /** Announcement id (0 for files found in the folder at start). */
  id: number;
  /** File name inside the renders folder. */
  name: string;
  /** Download URL path (`/renders/NAME`, the page adds the token), or null when the file is outside the renders folder. */
  url: string | null;
  /** Sidecar download URL path, or null. */
  sidecarUrl: string | null;
  /** Duration in seconds, or null when unknown (files found at start). */
  seconds: number | null;
  peakDbfs: number | null;
  /** ISO time the render finished (announced) or the file was last modified (found at start). */
  createdAt: string;
}

/** A finished render to announce: `RenderOutcome` (src/engine/render-types.ts) fits. */
export interface ListenRenderInput {
  /** The WAV file written (a download link is offered when it lies directly inside the renders folder). */
  path: string;
  /** Mono samples exactly as rendered, float32 in [-1, 1]. */
  samples: Float32Array;
  /** Hz. */
  sampleRate: number;
  /** Peak level in dBFS, shown in the list. */
  peakDbfs?: number;
  /** The JSON sidecar beside the WAV, if any. */
  sidecarPath?: string;
}

/** Reports the page sends about what it received and played (all times: milliseconds since the Unix epoch). */
export type PageReport =
  /**
   * The page's audio runs (after Start audio, or at once under an autoplay policy). `audio` is
   * `worklet` when live streams can play (a secure context: http://localhost), else `none`;
   * `client` numbers the page's connection in every report.
   */
  | { type: 'ready'; client: number; audio: 'worklet' | 'script-processor' | 'none'; sampleRate: number | null }
  /** Samples of render `id` arrived and were decoded into an AudioBuffer; sums over that buffer's data (float64 accumulation, in order). */
  | { type: 'received'; client: number; id: number; length: number; sampleRate: number; sum: number; sumSquares: number; receivedAt: number }
  /** Playback of render `id` started; `outputAt` is when its first sample reaches the output (AudioContext output timestamp). */
  | { type: 'started'; client: number; id: number; outputAt: number }
  | { type: 'ended'; client: number; id: number; stopped: boolean }
  /**
   * Live stream statistics (every ~200 ms and once after `live-close`): samples received and
   * played, sums over the received samples, `gaps` = frames whose first index did not follow the
   * previous one, `underruns` = times the buffer ran dry while the stream was open, `dropped` =
   * samples discarded beyond the buffer limit, `bufferedMs` = audio waiting in the page.
   */
  | {
      type: 'live';
      client: number;
      id: number;
      received: number;
      played: number;
      sum: number;
      sumSquares: number;
      gaps: number;
      underruns: number;
      dropped: number;
      bufferedMs: number;
      final: boolean;
    }
  /** The live output went from quiet (block peak < 0.01) to loud (|x| ≥ 0.25): output time of that sample and its stream index. */
  | { type: 'onset'; client: number; id: number; index: number; outputAt: number };

/** Options of {@link ListenServer.start}. */
export interface ListenServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /**
   * Address to bind, default `127.0.0.1`. Anything other than a loopback address exposes the page
   * to the network (still behind the token); {@link ListenServer.warning} then says so.
   */
  host?: string;
  /** The renders folder: the only folder files are served from (`/renders/NAME`). */
  rendersDir: string;
  /** Live stream: how far the producer may run ahead of real time, ms (default 30). */
  leadMs?: number;
  /** Live stream: audio the page buffers before it starts playing, ms (default 60). */
  prebufferMs?: number;
  /** Live stream: the page drops the oldest audio beyond this, ms (default 400). */
  maxBufferMs?: number;
  /** Fixed token (tests); default 24 random bytes, base64url. At least 16 characters of [A-Za-z0-9_-]. */
  token?: string;
}

/** A live PCM stream to every connected page (see {@link ListenServer.openLiveStream}). */
export interface ListenLiveStream {
  /** Stream id (in `live-open` and the binary frames). */
  readonly id: number;
  readonly sampleRate: number;
  /** Samples written so far. */
  readonly written: number;
  /**
   * Send mono float32 samples (any length) to every page. Resolves once the stream is at most
   * `leadMs` ahead of the wall clock, so `await stream.write(block)` paces a producer in real time.
   * After {@link close} it resolves at once and sends nothing.
   */
  write(samples: Float32Array): Promise<void>;
  /** End the stream: the pages play out what they hold. Idempotent. */
  close(): void;
}

/** Upper bound of curve points sent to the page. */
export const MAX_CURVE_POINTS = 1024;
/** Default port of `--listen` without a value. */
export const LISTEN_DEFAULT_PORT = 7070;
/** Renders kept in the page's list. */
const MAX_RENDERS = 12;
/** A page whose socket holds more than this many unsent bytes gets no live frames until it drains. */
const MAX_CLIENT_BACKLOG = 4 << 20;

const PAGE_DIR = fileURLToPath(new URL('./listen-page/', import.meta.url));
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/worklet.js': { file: 'worklet.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const KIND_RENDER = 1;
const KIND_LIVE = 2;

/** A binary frame: 16-byte header (kind, id, first sample index) then the float32 samples. */
function binaryFrame(kind: number, id: number, first: number, samples: Float32Array): Buffer {
  const buf = Buffer.allocUnsafe(16 + samples.length * 4);
  buf.writeUInt32LE(kind, 0);
  buf.writeUInt32LE(id, 4);
  buf.writeDoubleLE(first, 8);
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  buf.set(bytes, 16);
  return buf;
}

/** Resample `values` linearly to at most `max` points (kept as is when shorter). */
function limitPoints(values: readonly number[], max: number): number[] {
  const clean = values.map((v) => (Number.isFinite(v) ? v : 0));
  if (clean.length <= max) return clean;
  const out = new Array<number>(max);
  for (let i = 0; i < max; i++) {
    const x = (i * (clean.length - 1)) / (max - 1);
    const j = Math.floor(x);
    const f = x - j;
    out[i] = j + 1 < clean.length ? clean[j] * (1 - f) + clean[j + 1] * f : clean[j];
  }
  return out;
}

/** A request refused before routing: the status and a one-line reason (sent as plain text). */
interface Refusal {
  status: number;
  reason: string;
}

interface Client {
  id: number;
  ws: WebSocket;
}

/**
 * The remote-listening server. See the module comment for what it serves and its protocol.
 *
 * @example
 * const server = await ListenServer.start({ port: 7070, rendersDir: 'renders' });
 * console.error(`listen: open ${server.url}`);
 * server.publishState({ source: 'lts', a: { file: 'cello.wav', start: 1 }, b: { file: 'voice.wav', start: 0 }, duration: 2, curve: [1, 0] });
 * server.announceRender(outcome);          // every page plays it at once
 * const live = server.openLiveStream(44100);
 * await live.write(block);                 // paced in real time
 * live.close();
 * await server.close();
 */
export class ListenServer {
  /** The secret every request must carry (`?token=`). */
  readonly token: string;
  /** The renders folder (absolute). */
  readonly rendersDir: string;
  /** The bound address. */
  readonly host: string;
  /** A one-line warning when bound to a non-loopback address, else null. */
  readonly warning: string | null;

  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly pages = new Map<string, Buffer>();
  private readonly clients = new Set<Client>();
  private readonly reportListeners = new Set<(r: PageReport) => void>();
  private readonly opts: Required<Pick<ListenServerOptions, 'leadMs' | 'prebufferMs' | 'maxBufferMs'>>;
  private nextClient = 1;
  private nextId = 1;
  private state: ListenState = {};
  private renders: ListenRender[] = [];
  private current: {
    id: number;
    name: string;
    url: string | null;
    sampleRate: number;
    peakDbfs: number | null;
    samples: Float32Array;
    playOnConnect: boolean;
  } | null = null;
  private live: { id: number; sampleRate: number; stream: ListenLiveStream } | null = null;
  /** Release functions of the live streams' pending pacing waits (see `openLive`). */
  private readonly closers = new Set<() => void>();
  private boundPort = 0;
  private closed = false;

  private constructor(opts: ListenServerOptions, token: string) {
    this.token = token;
    this.host = opts.host ?? '127.0.0.1';
    this.rendersDir = resolve(opts.rendersDir);
    this.warning = isLoopbackHost(this.host)
      ? null
      : `listening on ${this.host}, reachable from the network (still behind the token); use the default 127.0.0.1 with ssh -L unless you mean it`;
    this.opts = { leadMs: opts.leadMs ?? 30, prebufferMs: opts.prebufferMs ?? 60, maxBufferMs: opts.maxBufferMs ?? 400 };
    for (const [route, p] of Object.entries(PAGE_FILES)) {
      let body = readFileSync(join(PAGE_DIR, p.file));
      if (p.file === 'index.html') body = Buffer.from(body.toString('utf8').replaceAll('__LTS_TOKEN__', token), 'utf8');
      this.pages.set(route, body);
    }
    this.http = createServer((req, res) => this.handle(req, res));
    this.http.headersTimeout = 10_000;
    this.http.requestTimeout = 30_000;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.renders = scanRenders(this.rendersDir);
  }

  /**
   * Start serving.
   *
   * @param opts.port TCP port (0: a free one); see {@link ListenServerOptions} for the rest.
   * @throws UserError when the port is invalid or in use, the address cannot be bound, the renders
   *   folder is missing, or the token is too short.
   */
  static async start(opts: ListenServerOptions): Promise<ListenServer> {
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new UserError(`--listen ${opts.port}: not a TCP port; use a whole number from 1 to 65535, e.g. --listen 7070`);
    }
    let dirOk = false;
    try {
      dirOk = statSync(opts.rendersDir).isDirectory();
    } catch {
      dirOk = false;
    }
    if (!dirOk) throw new UserError(`listen: renders folder ${opts.rendersDir} does not exist; create it or render once first`);
    for (const [name, v] of [['leadMs', opts.leadMs], ['prebufferMs', opts.prebufferMs], ['maxBufferMs', opts.maxBufferMs]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 10_000)) throw new UserError(`listen: ${name} ${v} must be 0..10000 ms`);
    }
    const token = opts.token ?? randomBytes(24).toString('base64url');
    if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) throw new UserError('listen: the token must be at least 16 characters of A-Z a-z 0-9 _ -');
    const server = new ListenServer(opts, token);
    await new Promise<void>((ok, fail) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const port = opts.port;
        if (e.code === 'EADDRINUSE') fail(new UserError(`--listen ${port}: port in use on ${server.host}; choose another, e.g. --listen ${port + 1}`));
        else if (e.code === 'EACCES') fail(new UserError(`--listen ${port}: not allowed to bind this port; use one above 1024, e.g. --listen 7070`));
        else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') fail(new UserError(`--listen-host ${server.host}: not an address of this machine; leave it out for 127.0.0.1`));
        else fail(new UserError(`--listen ${port}: cannot listen on ${server.host} (${e.code ?? e.message})`));
      };
      server.http.once('error', onError);
      server.http.listen(opts.port, server.host, () => {
        server.http.off('error', onError);
        const addr = server.http.address();
        server.boundPort = typeof addr === 'object' && addr ? addr.port : opts.port;
        ok();
      });
    });
    return server;
  }

  /** The bound TCP port. */
  get port(): number {
    return this.boundPort;
  }

  /** The page's URL with the token, e.g. `http://localhost:7070/?token=…` (localhost for loopback bindings). */
  get url(): string {
    const h = isLoopbackHost(this.host) || this.host === '0.0.0.0' || this.host === '::' ? 'localhost' : this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}/?token=${this.token}`;
  }

  /** Pages connected now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** The renders listed on the page, newest first. */
  get renderList(): readonly ListenRender[] {
    return this.renders;
  }

  /**
   * Replace what the page shows (files, excerpts, curve, knob, status). Sent to every page,
   * only when it differs from the last state sent.
   *
   * @param state See {@link ListenState}; curves longer than {@link MAX_CURVE_POINTS} are resampled.
   */
  publishState(state: ListenState): void {
    const next: ListenState = { ...state };
    if (state.curve) next.curve = limitPoints(state.curve, MAX_CURVE_POINTS);
    if (JSON.stringify(next) === JSON.stringify(this.state)) return;
    this.state = next;
    this.broadcast({ type: 'state', state: next });
  }

  /** The last state published. */
  currentState(): ListenState {
    return this.state;
  }

  /**
   * Announce a finished render: it joins the page's list (with download links when the file lies
   * directly in the renders folder), and its samples are sent to every page, which plays them at
   * once unless `opts.play` is false. Pages that connect later receive it without playing.
   *
   * @param outcome The render (a `RenderOutcome` fits).
   * @param opts.play Play it in the pages now (default true).
   * @param opts.playOnConnect Pages that connect later play it too (default false: they only receive it).
   * @returns The render's id (in {@link PageReport}s).
   */
  announceRender(outcome: ListenRenderInput, opts: { play?: boolean; playOnConnect?: boolean } = {}): number {
    const id = this.nextId++;
    const name = basename(outcome.path);
    const url = this.servable(outcome.path) ? `/renders/${encodeURIComponent(name)}` : null;
    const sidecarUrl =
      outcome.sidecarPath && this.servable(outcome.sidecarPath) ? `/renders/${encodeURIComponent(basename(outcome.sidecarPath))}` : null;
    const peakDbfs = outcome.peakDbfs !== undefined && Number.isFinite(outcome.peakDbfs) ? outcome.peakDbfs : null;
    const entry: ListenRender = {
      id,
      name,
      url,
      sidecarUrl,
      seconds: outcome.samples.length / outcome.sampleRate,
      peakDbfs,
      createdAt: new Date().toISOString(),
    };
    this.renders = [entry, ...this.renders.filter((r) => r.name !== name || r.url !== url)].slice(0, MAX_RENDERS);
    this.current = { id, name, url, sampleRate: outcome.sampleRate, peakDbfs, samples: outcome.samples, playOnConnect: opts.playOnConnect ?? false };
    this.broadcast({ type: 'renders', renders: this.renders });
    for (const c of this.clients) this.sendRender(c, opts.play ?? true);
    return id;
  }

  /**
   * Play a clip that is not a render file (an audition of a dataset file or excerpt): sent and
   * played like a render, but not listed and not downloadable.
   *
   * @returns its id.
   */
  playClip(samples: Float32Array, sampleRate: number, label: string): number {
    const id = this.nextId++;
    this.current = { id, name: label, url: null, sampleRate, peakDbfs: null, samples, playOnConnect: false };
    for (const c of this.clients) this.sendRender(c, true);
    return id;
  }

  /** Play the current render (or clip) again from its start in every page (the instrument's Play again). */
  play(): void {
    if (this.current) this.broadcast({ type: 'play', id: this.current.id });
  }

  /** Stop render playback in every page (the instrument's Stop); a live stream goes on. */
  stop(): void {
    this.broadcast({ type: 'stop' });
  }

  /**
   * Open a live PCM stream to every page (a previous one is closed). See {@link ListenLiveStream}.
   *
   * @param sampleRate Hz (3000..768000), e.g. the model's 44100.
   */
  openLiveStream(sampleRate: number): ListenLiveStream {
    if (!(Number.isFinite(sampleRate) && sampleRate >= 3000 && sampleRate <= 768000)) {
      throw new UserError(`listen: live sample rate ${sampleRate} Hz is outside 3000..768000`);
    }
    this.live?.stream.close();
    const id = this.nextId++;
    const lead = (this.opts.leadMs / 1000) * sampleRate;
    const maxBehind = (this.opts.maxBufferMs / 1000) * sampleRate;
    let written = 0;
    let closed = false;
    let t0 = 0;
    let base = 0;
    const server = this;
    // Writes waiting for the wall clock (pacing): released at once when the stream or the server closes,
    // so that no timer outlives them (they would hold the process open after the app has quit).
    const pacing = new Map<NodeJS.Timeout, () => void>();
    const release = () => {
      for (const [timer, done] of pacing) {
        clearTimeout(timer);
        done();
      }
      pacing.clear();
    };
    this.closers.add(release);
    const stream: ListenLiveStream = {
      id,
      sampleRate,
      get written() {
        return written;
      },
      async write(samples: Float32Array): Promise<void> {
        if (closed || server.closed) return;
        const now = performance.now();
        if (written === 0) t0 = now;
        // Far behind real time (the producer stalled): start the clock anew instead of bursting.
        const due = base + ((now - t0) / 1000) * sampleRate;
        if (due - written > maxBehind) {
          t0 = now;
          base = written;
        }
        const frame = binaryFrame(KIND_LIVE, id, written, samples);
        for (const c of server.clients) {
          if (c.ws.readyState === WebSocket.OPEN && c.ws.bufferedAmount < MAX_CLIENT_BACKLOG) c.ws.send(frame);
        }
        written += samples.length;
        const ahead = written - (base + ((performance.now() - t0) / 1000) * sampleRate);
        if (ahead > lead && !closed) {
          await new Promise<void>((done) => {
            const timer = setTimeout(() => {
              pacing.delete(timer);
              done();
            }, ((ahead - lead) / sampleRate) * 1000);
            pacing.set(timer, done);
          });
        }
      },
      close(): void {
        if (closed) return;
        closed = true;
        release();
        server.closers.delete(release);
        if (server.live?.id === id) server.live = null;
        server.broadcast({ type: 'live-close', id });
      },
    };
    this.live = { id, sampleRate, stream };
    this.broadcast(this.liveOpenMessage());
    return stream;
  }

  /**
   * Listen to the pages' reports (see {@link PageReport}).
   *
   * @returns A function that removes the listener.
   */
  onReport(cb: (r: PageReport) => void): () => void {
    this.reportListeners.add(cb);
    return () => this.reportListeners.delete(cb);
  }

  /**
   * Wait for the first report that satisfies `match`.
   *
   * @param match Predicate over reports.
   * @param opts.timeoutMs Reject after this many ms (default: wait forever).
   * @param opts.signal Reject when aborted.
   */
  waitForReport<T extends PageReport>(match: (r: PageReport) => r is T, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<T>;
  waitForReport(match: (r: PageReport) => boolean, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<PageReport>;
  waitForReport(match: (r: PageReport) => boolean, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<PageReport> {
    return new Promise((ok, fail) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        off();
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const off = this.onReport((r) => {
        if (!match(r)) return;
        done();
        ok(r);
      });
      const onAbort = () => {
        done();
        fail(new Error('listen: stopped waiting for the page'));
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          fail(new Error(`listen: no answer from the page within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      }
    });
  }

  /** Close every page connection and stop listening. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live?.stream.close();
    for (const f of this.closers) f();
    this.closers.clear();
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.wss.close();
    await new Promise<void>((ok) => {
      this.http.close(() => ok());
      this.http.closeAllConnections();
    });
  }

  // --- HTTP ---

  /** Whether `path` lies directly inside the renders folder (so `/renders/NAME` can serve it). */
  private servable(path: string): boolean {
    try {
      return dirname(realpathSync(path)) === realpathSync(this.rendersDir);
    } catch {
      return false;
    }
  }

  /** Host, Origin, Sec-Fetch-Site and token checks shared by HTTP and WebSocket. */
  private refuse(req: IncomingMessage, url: URL): Refusal | null {
    const host = (req.headers.host ?? '').toLowerCase();
    const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
    if (!host) return { status: 400, reason: 'missing Host header' };
    if (isLoopbackHost(this.host) && !LOOPBACK_NAMES.has(hostname)) {
      return { status: 403, reason: `host ${hostname} refused; open the page as http://localhost:PORT/ (ssh -L)` };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
      return { status: 403, reason: 'cross-origin request refused' };
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return { status: 403, reason: 'cross-site request refused' };
    }
    const given = url.searchParams.get('token') ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      return { status: 403, reason: 'missing or wrong token; open the exact URL lts printed (with ?token=)' };
    }
    return null;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, this.headers(type, typeof body === 'string' ? Buffer.byteLength(body) : body.length));
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return send(405, 'only GET and HEAD are served\n');
      }
      const raw = req.url ?? '/';
      const rawPath = raw.split('?')[0];
      let url: URL;
      try {
        url = new URL(raw, 'http://listen.invalid');
      } catch {
        return send(400, 'malformed URL\n');
      }
      const refusal = this.refuse(req, url);
      if (refusal) return send(refusal.status, refusal.reason + '\n');
      let decoded: string;
      try {
        decoded = decodeURIComponent(rawPath);
      } catch {
        return send(400, 'malformed path\n');
      }
      if (decoded.includes('..') || decoded.includes('\\') || decoded.includes('\0') || decoded.includes('//')) {
        return send(403, 'path refused\n');
      }
      const page = PAGE_FILES[rawPath];
      if (page) return send(200, this.pages.get(rawPath)!, page.type);
      if (decoded.startsWith('/renders/')) return this.serveRender(decoded.slice('/renders/'.length), req, res, send);
      return send(404, 'not found\n');
    } catch {
      if (!res.headersSent) send(500, 'internal error\n');
      else res.destroy();
    }
  }

  private headers(type: string, length: number): Record<string, string | number> {
    return {
      'Content-Type': type,
      'Content-Length': length,
      'Cache-Control': 'no-store',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
  }

  private serveRender(
    name: string,
    req: IncomingMessage,
    res: ServerResponse,
    send: (status: number, body: string) => void,
  ): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9._ -]*\.(wav|json)$/i.test(name)) return send(404, 'not found\n');
    let real: string;
    let size: number;
    try {
      real = realpathSync(join(this.rendersDir, name));
      const root = realpathSync(this.rendersDir);
      if (!real.startsWith(root + sep) || dirname(real) !== root) return send(403, 'path refused\n');
      const st = statSync(real);
      if (!st.isFile()) return send(404, 'not found\n');
      size = st.size;
    } catch {
      return send(404, 'not found\n');
    }
    const type = name.toLowerCase().endsWith('.wav') ? 'audio/wav' : 'application/json';
    res.writeHead(200, {
      ...this.headers(type, size),
      'Content-Disposition': `attachment; filename="${name.replace(/"/g, '')}"`,
    });
    if (req.method === 'HEAD') return void res.end();
    const rs = createReadStream(real);
    rs.on('error', () => res.destroy());
    rs.pipe(res);
  }

  // --- WebSocket ---

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const reject = (status: number, reason: string) => {
      const text = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Error';
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`);
    };
    socket.on('error', () => undefined);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://listen.invalid');
    } catch {
      return reject(400, 'malformed URL');
    }
    const refusal = this.refuse(req, url);
    if (refusal) return reject(refusal.status, refusal.reason);
    if (url.pathname !== '/ws') return reject(404, 'not found');
    if (this.closed) return reject(403, 'closing');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connect(ws));
  }

  private connect(ws: WebSocket): void {
    const client: Client = { id: this.nextClient++, ws };
    this.clients.add(client);
    ws.on('error', () => undefined);
    ws.on('close', () => this.clients.delete(client));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      const r = sanitizeReport(msg, client.id);
      if (r) for (const cb of [...this.reportListeners]) cb(r);
    });
    this.sendTo(client, {
      type: 'hello',
      client: client.id,
      state: this.state,
      renders: this.renders,
      live: this.live ? this.liveOpenMessage() : null,
    });
    if (this.current) this.sendRender(client, this.current.playOnConnect);
  }

  private liveOpenMessage(): Record<string, unknown> {
    return {
      type: 'live-open',
      id: this.live!.id,
      sampleRate: this.live!.sampleRate,
      prebufferMs: this.opts.prebufferMs,
      maxBufferMs: this.opts.maxBufferMs,
    };
  }

  private sendRender(c: Client, play: boolean): void {
    const cur = this.current!;
    this.sendTo(c, {
      type: 'render',
      id: cur.id,
      name: cur.name,
      url: cur.url,
      sampleRate: cur.sampleRate,
      length: cur.samples.length,
      peakDbfs: cur.peakDbfs,
      play,
    });
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(binaryFrame(KIND_RENDER, cur.id, 0, cur.samples));
  }

  private sendTo(c: Client, msg: Record<string, unknown>): void {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(msg));
  }

  private broadcast(msg: Record<string, unknown>): void {
    const text = JSON.stringify(msg);
    for (const c of this.clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
  }
}

/** Keep only well-formed reports, with numbers checked (the page is not trusted). */
function sanitizeReport(msg: unknown, client: number): PageReport | null {
  if (typeof msg !== 'object' || msg === null) return null;
  const m = msg as Record<string, unknown>;
  const num = (k: string) => (typeof m[k] === 'number' && Number.isFinite(m[k]) ? (m[k] as number) : NaN);
  const ok = (...keys: string[]) => keys.every((k) => Number.isFinite(num(k)));
  switch (m.type) {
    case 'ready': {
      const audio = m.audio === 'worklet' || m.audio === 'script-processor' ? m.audio : 'none';
      return { type: 'ready', client, audio, sampleRate: Number.isFinite(num('sampleRate')) ? num('sampleRate') : null };
    }
    case 'received':
      return ok('id', 'length', 'sampleRate', 'sum', 'sumSquares', 'receivedAt')
        ? { type: 'received', client, id: num('id'), length: num('length'), sampleRate: num('sampleRate'), sum: num('sum'), sumSquares: num('sumSquares'), receivedAt: num('receivedAt') }
        : null;
    case 'started':
      return ok('id', 'outputAt') ? { type: 'started', client, id: num('id'), outputAt: num('outputAt') } : null;
    case 'ended':
      return ok('id') ? { type: 'ended', client, id: num('id'), stopped: m.stopped === true } : null;
    case 'live':
      return ok('id', 'received', 'played', 'sum', 'sumSquares', 'gaps', 'underruns', 'dropped', 'bufferedMs')
        ? {
            type: 'live',
            client,
            id: num('id'),
            received: num('received'),
            played: num('played'),
            sum: num('sum'),
            sumSquares: num('sumSquares'),
            gaps: num('gaps'),
            underruns: num('underruns'),
            dropped: num('dropped'),
            bufferedMs: num('bufferedMs'),
            final: m.final === true,
          }
        : null;
    case 'onset':
      return ok('id', 'index', 'outputAt') ? { type: 'onset', client, id: num('id'), index: num('index'), outputAt: num('outputAt') } : null;
    default:
      return null;
  }
}

/** The newest WAV files directly in the renders folder (for the page's list at start). */
function scanRenders(dir: string): ListenRender[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: { name: string; mtime: number }[] = [];
  let root: string;
  try {
    root = realpathSync(dir);
  } catch {
    return [];
  }
  for (const name of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._ -]*\.wav$/i.test(name)) continue;
    try {
      const st = statSync(join(dir, name));
      if (st.isFile() && dirname(realpathSync(join(dir, name))) === root) found.push({ name, mtime: st.mtimeMs });
    } catch {
      // vanished meanwhile
    }
  }
  found.sort((x, y) => y.mtime - x.mtime);
  return found.slice(0, MAX_RENDERS).map(({ name, mtime }) => {
    const sidecar = name.replace(/\.wav$/i, '.json');
    let hasSidecar = false;
    try {
      hasSidecar = statSync(join(dir, sidecar)).isFile();
    } catch {
      hasSidecar = false;
    }
    return {
      id: 0,
      name,
      url: `/renders/${encodeURIComponent(name)}`,
      sidecarUrl: hasSidecar ? `/renders/${encodeURIComponent(sidecar)}` : null,
      seconds: null,
      peakDbfs: null,
      createdAt: new Date(mtime).toISOString(),
    };
  });
}
