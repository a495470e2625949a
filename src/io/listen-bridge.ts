/**
 * Adapters between the instrument and the listen server ({@link ListenServer}), so that
 * `--listen` is a one-line change for each program:
 *
 * - {@link listenAudioOutput}: an `AudioOutput` that plays in the browser pages, and on the local
 *   device too when there is one. The TUI (`services.audio`), `lts osc` (`OscServer`'s `audio`)
 *   and live mode (`LiveEngine.start(output)`, which streams through `openStream`) take it as is.
 * - {@link listenRenderer}: wraps a render service (`RenderWorker`, the TUI's `RenderService`,
 *   `OscServer`'s `renderer`) so every finished render is announced to the pages; its samples are
 *   then played by the program's own `audio.play(outcome.samples)` through the output above.
 * - {@link listenStateFromApp}, {@link listenStateFromOsc}, {@link followOsc},
 *   {@link followLiveEngine}: what the page shows (files, excerpts, curve, knob, status).
 * - {@link serveRender}: `lts render --listen` — announce, play, and wait until a page has played it.
 *
 * Nothing here touches the terminal.
 */
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { teeStream, type AudioOutput, type AudioStream, type AudioUnavailable, type PlaybackHandle, type PlaybackResult, type StreamOptions } from './audio-out.ts';
import type { ListenServer, ListenState } from './listen-server.ts';
import type { RenderOutcome } from '../engine/render-types.ts';
import type { OscServerState } from '../engine/osc-server.ts';
import type { AppState } from '../tui/state.ts';

/** The part of an audio output the adapters need (the TUI's `services.audio` has exactly this). */
export type LocalAudio = Pick<AudioOutput, 'status' | 'play' | 'stop' | 'close'> & Partial<AudioOutput>;

/**
 * An audio output that plays in the listening pages and, when a device is available, locally too.
 *
 * - `play(samples)`: when `samples` is the render last announced by {@link listenRenderer} (the
 *   same array), the pages play that render again; anything else (an audition) is sent as a clip.
 *   The handle is the local one when the device played, else one that ends after the clip's
 *   duration (or at `stop`).
 * - `status()`: the local status; without a device it reports available with no devices, since
 *   the pages play.
 * - `openStream(rate)`: a live stream to the pages, teed to a local stream when one opens; `write`
 *   resolves when both are ready for more (the local device paces it, else the wall clock).
 * - `stop()` stops the pages' playback and the local one; `close()` closes the local output only
 *   (the server belongs to the caller).
 *
 * @param server The running listen server.
 * @param local The local output (e.g. `createAudioOutput()` or the TUI's lazy one), or null.
 */
export function listenAudioOutput(server: ListenServer, local: LocalAudio | null): AudioOutput {
  const unavailable = async (): Promise<AudioUnavailable> => ({ available: false, reason: 'no local audio device' });
  const out: AudioOutput = {
    listDevices: async () => (local?.listDevices ? local.listDevices() : []),
    status: async () => {
      const s = local ? await local.status() : await unavailable();
      return s.available ? s : { available: true, devices: [] };
    },
    play: async (samples, sampleRate, opts) => {
      if (lastAnnounced.get(server) === samples) server.play();
      else server.playClip(samples, sampleRate, 'audition');
      const h = local ? await local.play(samples, sampleRate, opts) : await unavailable();
      if (h.available) {
        return { ...h, stop: () => { server.stop(); h.stop(); } };
      }
      return pagePlayback(server, samples.length / sampleRate);
    },
    openStream: async (sampleRate: number, opts?: StreamOptions): Promise<AudioStream | AudioUnavailable> => {
      const live = server.openLiveStream(sampleRate);
      const dev = local?.openStream ? await local.openStream(sampleRate, opts) : await unavailable();
      return teeStream(dev.available ? dev : null, sampleRate, {
        write: (x) => live.write(x),
        position: () => live.written / sampleRate,
        close: () => live.close(),
      });
    },
    stop: () => {
      server.stop();
      local?.stop();
    },
    close: () => local?.close(),
    get lastStatus() {
      return local?.lastStatus ?? { available: true };
    },
  };
  return out;
}

/** Samples of the render each server announced last (identity tells Play again from an audition). */
const lastAnnounced = new WeakMap<ListenServer, Float32Array>();

/** A playback handle for audio that only the pages play: ends after `duration` seconds or at stop. */
function pagePlayback(server: ListenServer, duration: number): PlaybackHandle {
  const t0 = performance.now();
  let finish!: (r: PlaybackResult) => void;
  const done = new Promise<PlaybackResult>((r) => (finish = r));
  let over = false;
  const timer = setTimeout(() => end({ status: 'finished' }), duration * 1000);
  const end = (r: PlaybackResult) => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    finish(r);
  };
  return {
    available: true,
    deviceId: -1,
    duration,
    done,
    stop: () => {
      if (over) return;
      server.stop();
      end({ status: 'stopped' });
    },
    position: () => Math.min(duration, (performance.now() - t0) / 1000),
  };
}

/** Anything with the render method of `RenderWorker` / `RenderService` / `OscRenderBackend`. */
export interface RenderLike {
  render(...args: never[]): Promise<RenderOutcome>;
}

/**
 * Wrap a render service so each finished render is announced to the pages (listed with download
 * links, samples sent) without playing it: the program's own `audio.play(outcome.samples)`
 * through {@link listenAudioOutput} starts it, so Play again and Stop follow the program.
 *
 * @param server The running listen server.
 * @param renderer The service; every other member is passed through unchanged.
 * @returns An object of the same type.
 */
export function listenRenderer<R extends RenderLike>(server: ListenServer, renderer: R): R {
  return new Proxy(renderer, {
    get(target, prop, receiver) {
      if (prop === 'render') {
        return async (...args: Parameters<R['render']>) => {
          const outcome = await (target.render as (...a: unknown[]) => Promise<RenderOutcome>).apply(target, args);
          lastAnnounced.set(server, outcome.samples);
          server.announceRender(outcome, { play: false });
          return outcome;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * What the page shows for the TUI's state: the model, both excerpts, the curve, the status
 * (render progress or the message line) and what plays.
 *
 * @param state The app state (src/tui/state.ts).
 */
export function listenStateFromApp(state: AppState): ListenState {
  const slot = (id: 'A' | 'B') => {
    const s = state.slots[id];
    return s ? { file: s.relPath, start: s.start } : null;
  };
  const status = state.render.busy
    ? `rendering: ${state.render.stage ?? 'starting'} ${Math.round(state.render.fraction * 100)} %`
    : (state.message?.text ?? null);
  return {
    source: 'lts',
    model: state.model.name ?? basename(state.model.dir),
    a: slot('A'),
    b: slot('B'),
    duration: state.duration,
    curve: [...state.curve.values],
    curveRange: [state.curve.range[0], state.curve.range[1]],
    knob: null,
    status,
    playing: state.playing?.what ?? null,
  };
}

/**
 * What the page shows for `lts osc`: the model, both sounds, the curve (`/set_alfa` values v in
 * −1..1 as the amount of the first sound a = (v + 1)/2; none sent = a constant 0.5) and whether a
 * render runs.
 *
 * @param state `OscServer.state()`.
 */
export function listenStateFromOsc(state: OscServerState): ListenState {
  const curve = state.alfa ? Array.from(state.alfa, (v) => (v + 1) / 2) : [0.5, 0.5];
  return {
    source: 'lts osc',
    model: state.model ? basename(state.model.dir) : null,
    a: state.first ? { file: state.first.name, start: null } : null,
    b: state.second ? { file: state.second.name, start: null } : null,
    duration: null,
    curve,
    curveRange: [0, 1],
    knob: null,
    status: state.generating ? 'rendering…' : state.lastRender ? `last render ${basename(state.lastRender)}` : 'waiting for the Max patch',
    playing: null,
  };
}

/**
 * Keep the page in step with an OSC server by polling its state (it has no change events);
 * {@link ListenServer.publishState} sends only changes.
 *
 * @param server The listen server.
 * @param osc Anything with `state()` (an `OscServer`).
 * @param intervalMs Polling interval, default 200 ms.
 * @returns A function that stops following.
 */
export function followOsc(server: ListenServer, osc: { state(): OscServerState }, intervalMs = 200): () => void {
  const tick = () => server.publishState(listenStateFromOsc(osc.state()));
  tick();
  const t = setInterval(tick, intervalMs);
  t.unref();
  return () => clearInterval(t);
}

/**
 * Show a live engine's control value as the page's knob, at most `rateHz` times a second, on top of
 * a base state (files, excerpts, curve).
 *
 * @param server The listen server.
 * @param engine Anything with `onFrame(cb)` and `controlValue()` (a `LiveEngine`).
 * @param base The rest of the state to show.
 * @param rateHz Updates per second, default 20.
 * @returns A function that stops following.
 */
export function followLiveEngine(
  server: ListenServer,
  engine: { onFrame(cb: () => void): () => void; controlValue(): number },
  base: ListenState = {},
  rateHz = 20,
): () => void {
  let last = -Infinity;
  const publish = () => server.publishState({ ...base, knob: { label: 'amount a', value: engine.controlValue(), min: 0, max: 1 } });
  publish();
  return engine.onFrame(() => {
    const now = performance.now();
    if (now - last < 1000 / rateHz) return;
    last = now;
    publish();
  });
}

/**
 * `lts render --listen`: announce a finished render and play it in the pages (a page opened
 * later gets it too), then wait until a page has received it and played it to the end or stopped
 * (pressing Start audio in the page starts it), or until `signal` aborts (Ctrl-C).
 *
 * @param server The listen server (the render's folder must be its renders folder for the download link).
 * @param outcome The render.
 * @param opts.signal Stop waiting when aborted.
 * @returns `played` when a page played it, `interrupted` when aborted first.
 */
export async function serveRender(
  server: ListenServer,
  outcome: RenderOutcome,
  opts: { signal?: AbortSignal } = {},
): Promise<'played' | 'interrupted'> {
  const id = server.announceRender(outcome, { play: true, playOnConnect: true });
  const received = new Set<number>();
  const waiting = server.waitForReport(
    (r) => {
      if (r.type === 'received' && r.id === id) received.add(r.client);
      return r.type === 'ended' && r.id === id && received.has(r.client);
    },
    { signal: opts.signal },
  );
  try {
    await waiting;
    return 'played';
  } catch {
    return 'interrupted';
  }
}
