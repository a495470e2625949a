/**
 * Entry of the terminal instrument: `lts` with no subcommand (and `npm start`).
 *
 * Opens the alternate screen, restores the saved session, starts the real
 * services (render worker, audio output child) and runs the Ink app until
 * the user quits; the session is flushed on quit, on SIGTERM/SIGHUP (a
 * dropped SSH connection) and on any exit path.
 *
 * React and Ink are imported only inside {@link runTui}, after `NODE_ENV`
 * defaults to `production` (React's production builds load and reconcile
 * faster; an explicit `NODE_ENV` is respected), and a one-line "starting"
 * notice is drawn first so the terminal answers at once.
 *
 * Timing probe for benchmarks and tests: with `LTS_TUI_TRACE=FILE` every key
 * press, every frame Ink writes and every notice are appended to FILE as
 * `key <ms>` / `frame <ms>` / `message <level> <text> <ms>` (milliseconds
 * since the Unix epoch, sub-millisecond resolution).
 */
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_MODEL_DIR, DEMO_DATASET_DIR } from '../paths.ts';
import { SessionStore, defaultStateDir, loadSession, type SessionState } from '../engine/session.ts';
import type { TuiServices } from './services.ts';
import { KNOB_RANGE, restorable, type AppState, type RestorableState } from './state.ts';
import type { ListenFlags } from '../cli/listen.ts';
import type { ListenServer, ListenState } from '../io/listen-server.ts';
import { listenStateFromApp } from '../io/listen-bridge.ts';
import { PHASE_METHODS, type PhaseMethod } from '../dsp/phase-settings.ts';
import { RENDER_DEFAULTS } from '../engine/render-types.ts';
import { prepareStateDir } from './state-dir.ts';

/** Options of {@link runTui}; every path may be relative to the current folder. */
export interface RunTuiOptions {
  /** Dataset folder; default: the saved session's, else data/demo. */
  dataset?: string;
  /** Model folder; default: the saved session's, else models/default. */
  model?: string;
  /** tfjs backend preference (auto, tensorflow, wasm, cpu). */
  backend?: string;
  /** State folder; default `$LTS_STATE_DIR`, `$XDG_STATE_HOME/lts` or `~/.local/state/lts`. */
  stateDir?: string;
  /** Start the OSC server for the original Max patch on this UDP port (`--osc [PORT]`); default off (Ctrl-E starts it). */
  oscPort?: number | null;
  /** Where OSC replies go (`--osc-reply-port`, default 7021). */
  oscReplyPort?: number;
  /** Serve the listening page (`--listen [PORT]`, `--listen-host`); default off. */
  listen?: ListenFlags | null;
}

/**
 * What the listening page shows for the instrument: {@link listenStateFromApp} plus the live
 * control as the page's knob while live mode plays.
 */
export function listenStateWithLive(state: AppState): ListenState {
  const base = listenStateFromApp(state);
  const l = state.live;
  if (!l.on) return base;
  const range = KNOB_RANGE[l.mode];
  return {
    ...base,
    knob: { label: l.mode === 'offset' ? 'offset on the curve' : 'amount a', value: l.knob, min: range[0], max: range[1] },
    playing: `live (${l.loop ? 'loop' : 'once'})`,
  };
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/**
 * The phase method a session restores: its own, except that a session saved before lts 0.4.0 with
 * `pghi+fgla`, that version's default, gets today's default (`pghi+agla`), and an unknown name the default.
 */
function restoredMethod(s: SessionState): PhaseMethod {
  const m = s.settings.method;
  if (!(PHASE_METHODS as readonly string[]).includes(m)) return RENDER_DEFAULTS.method;
  if (s.lts === undefined && m === 'pghi+fgla') return RENDER_DEFAULTS.method;
  return m as PhaseMethod;
}

/** Map a saved session to the state the app restores. */
export function sessionToRestorable(s: SessionState): RestorableState {
  return {
    slots: s.slots,
    duration: s.duration,
    curve: s.curve,
    settings: {
      normalize: s.settings.normalize,
      method: restoredMethod(s),
      iterations: s.settings.iterations,
      deviceId: s.settings.deviceId,
    },
    lastRender: s.lastRender,
    live: s.live ?? null,
  };
}

/** The session record for an app state. */
export function stateToSession(state: AppState): Omit<SessionState, 'savedAt' | 'kind' | 'version' | 'lts'> {
  const r = restorable(state);
  return {
    dataset: state.dataset.dir,
    model: state.model.dir,
    slots: r.slots,
    duration: r.duration,
    curve: { values: [...r.curve.values], range: [r.curve.range[0], r.curve.range[1]] },
    settings: { ...r.settings },
    lastRender: r.lastRender,
    ...(r.live ? { live: { ...r.live } } : {}),
  };
}

/**
 * Run the instrument in the current terminal until the user quits.
 *
 * @returns the process exit code (0).
 * @throws UserError (before the terminal is touched) when the state folder or its renders folder cannot be used.
 */
export async function runTui(opts: RunTuiOptions = {}): Promise<number> {
  const stateDir = resolve(opts.stateDir ?? defaultStateDir());
  prepareStateDir(stateDir);
  const { session, notice } = loadSession(stateDir);
  const dataset = resolve(opts.dataset ?? (session && isDir(session.dataset) ? session.dataset : DEMO_DATASET_DIR));
  const model = resolve(opts.model ?? (session && isDir(session.model) ? session.model : DEFAULT_MODEL_DIR));
  process.env.NODE_ENV ??= 'production';
  const out = process.stdout;
  out.write('\x1b[?1049h\x1b[H\x1b[2J LTS: starting…');
  let imported;
  try {
    imported = await Promise.all([import('react'), import('ink'), import('./App.tsx'), import('./services.ts')]);
  } catch (e) {
    out.write('\x1b[?1049l');
    throw e;
  }
  const [{ default: React }, { render }, { App }, { createServices }] = imported;
  let services: TuiServices = createServices({ stateDir, backend: opts.backend });
  let listen: ListenServer | null = null;
  if (opts.listen) {
    const [{ startListening }, bridge, { lazyAudioOutput, oscStarter }] = await Promise.all([
      import('../cli/listen.ts'),
      import('../io/listen-bridge.ts'),
      import('./services.ts'),
    ]);
    try {
      listen = await startListening(opts.listen, services.rendersDir, () => undefined);
    } catch (e) {
      out.write('\x1b[?1049l');
      // The workers started with the services would keep the process alive.
      services.audio.close();
      await services.live?.close().catch(() => undefined);
      await services.renderer.close().catch(() => undefined);
      throw e;
    }
    const audio = bridge.listenAudioOutput(listen, lazyAudioOutput());
    const renderer = bridge.listenRenderer(listen, services.renderer);
    services = { ...services, audio, renderer, listen, startOsc: oscStarter(renderer, audio, services.rendersDir) };
  }

  let saveError: string | null = null;
  const store = new SessionStore(stateDir, { onError: (m) => (saveError = m) });
  const tracePath = process.env.LTS_TUI_TRACE;
  const trace = (event: string) => {
    if (tracePath) appendFileSync(tracePath, `${event} ${(performance.timeOrigin + performance.now()).toFixed(3)}\n`);
  };

  let restored = false;
  const restoreScreen = () => {
    if (restored) return;
    restored = true;
    store.flush();
    out.write('\x1b[?25h\x1b[?1049l');
  };
  const onSignal = () => {
    restoreScreen();
    process.exit(0);
  };
  // The terminal is gone (SSH dropped, window closed): save, end the audio child, and leave without
  // touching the vanished tty (Node aborts when it cannot restore the terminal mode at exit).
  const onHangup = () => {
    store.flush();
    services.audio.close();
    void services.live?.close();
    process.kill(process.pid, 'SIGKILL');
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onHangup);
  process.once('exit', restoreScreen);

  const restore = session
    ? session.dataset === dataset
      ? sessionToRestorable(session)
      : { ...sessionToRestorable(session), slots: { A: null, B: null } }
    : null;
  out.write('\x1b[H\x1b[2J');
  const instance = render(
    React.createElement(App, {
      services,
      dataset,
      model,
      restore,
      notice,
      onChange: (st: AppState) => store.update(stateToSession(st)),
      onState: listen ? (st: AppState) => listen?.publishState(listenStateWithLive(st)) : undefined,
      oscPort: opts.oscPort ?? null,
      oscReplyPort: opts.oscReplyPort,
      onQuit: () => {
        store.flush();
      },
      trace: tracePath ? trace : undefined,
    }),
    {
      exitOnCtrlC: false,
      patchConsole: true,
      incrementalRendering: false,
      maxFps: 60,
      onRender: tracePath ? () => trace('frame') : undefined,
    },
  );
  try {
    await instance.waitUntilExit();
  } finally {
    store.flush();
    services.audio.close();
    await services.live?.close().catch(() => undefined);
    await services.renderer.close().catch(() => undefined);
    await listen?.close().catch(() => undefined);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
    restoreScreen();
  }
  if (saveError) process.stderr.write(`lts: ${saveError}\n`);
  if (listen) process.stderr.write(`lts: the listening page (${listen.url}) is closed\n`);
  return 0;
}
