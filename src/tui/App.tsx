/**
 * The instrument's root component and its controller.
 *
 * State lives in a reducer (`state.ts`) held in a ref so that a burst of
 * keys is applied in order even between two frames; key presses are mapped
 * by `keys.ts` to actions or effects; effects call the injected
 * {@link TuiServices} (dataset scan, audio decoding, the render worker,
 * audio output, presets, file copies) and dispatch their results.
 */
import React, { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { writeFileAtomicAsync } from '../io/atomic.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { curveFromValues, formatCurveSpec, listPresets, loadPresetByName, sampleCurve, savePreset } from '../engine/curve.ts';
import { MidiMapper, defaultRange, describeSource, loadMidiMap, saveMidiMap } from '../engine/midi-map.ts';
import { connectMidi, type MidiEvent, type MidiInput } from '../io/midi.ts';
import type { ListenLiveStream } from '../io/listen-server.ts';
import { LIVE_NEEDS_STFT_TEXT, epochMs, type LiveStartParams } from './live-protocol.ts';
import type { LiveEvent } from './live-worker.ts';
import type { OscHandle } from './services.ts';
import { defaultPhaseSettings, type RenderParams } from '../engine/render-types.ts';
import type { PlaybackHandle } from '../io/audio-out.ts';
import { commandForKey, isEffect, splitKeys, type Effect } from './keys.ts';
import {
  initialState,
  midiRow,
  reducer,
  selectedEntry,
  type Action,
  type AppState,
  type MidiMappingView,
  type RestorableState,
  type SlotId,
} from './state.ts';
import type { TuiServices } from './services.ts';
import type { WaveformData } from './waveform.ts';
import {
  CurvePanelMemo,
  DatasetPanelMemo,
  HelpOverlay,
  MessageLine,
  MidiOverlay,
  PickerOverlay,
  PromptOverlay,
  StatusLine,
  TooSmall,
  TransportBar,
  WaveformPanelMemo,
} from './components.tsx';

/** How long the chosen excerpts stay unchanged before the render worker encodes them ahead of a render. */
const PREPARE_DELAY_MS = 250;

/** Decoded files kept in memory for the waveform views and auditioning (the two slots are always kept). */
export const WAVE_CACHE_SIZE = 4;

/** Peak level of normalised renders, dBFS. */
export const NORMALIZE_DBFS = -1;

/** Suffix of MIDI mapping files in the presets folder. */
export const MIDI_MAP_SUFFIX = '.midi.json';

/**
 * Live mode follows a change of the excerpts, the duration, loop/once, the control mode (or the curve in
 * offset mode) this long after it, ms: the running stream takes the new settings in place, without a gap
 * (the live worker encodes the new excerpts on another thread, then swaps them in at the next frame). While
 * a key repeats or a MIDI knob mapped to a start moves, one update is sent per interval plus the encoding
 * time (50 to 130 ms for 2 s excerpts on the default model), so the sound follows the move as it goes.
 */
export const LIVE_UPDATE_MS = 50;

/** Smallest interval between two screen updates caused by a MIDI control, ms (the sound follows every message). */
export const MIDI_UI_INTERVAL_MS = 30;

/** A MIDI message as the MIDI panel shows it, e.g. `CC 1 ch 1 = 64`, `note 60 ch 10 on 100`. */
export function describeMidiEvent(ev: MidiEvent): string | null {
  switch (ev.type) {
    case 'cc':
      return `CC ${ev.controller} ch ${ev.channel + 1} = ${ev.value}`;
    case 'noteon':
      return `note ${ev.note} ch ${ev.channel + 1} on ${ev.velocity}`;
    case 'noteoff':
      return `note ${ev.note} ch ${ev.channel + 1} off`;
    case 'pitchbend':
      return `pitch bend ch ${ev.channel + 1} = ${ev.bend.toFixed(2)}`;
    default:
      return null;
  }
}

/**
 * Open the first input port that is a controller when none is open: ALSA's always-present
 * "Midi Through" port is passed over (it only echoes what other programs send).
 *
 * @returns the opened port's index, or -1 when nothing was opened.
 */
export function openFirstController(input: MidiInput): number {
  if (!input.available || input.openPortName) return -1;
  const i = input.listPorts().findIndex((p) => !/midi through/i.test(p));
  if (i >= 0) input.open(i);
  return i;
}

/** The mapper's mappings as the MIDI panel lists them. */
export function mappingViews(mapper: MidiMapper): MidiMappingView[] {
  return mapper.mappings().map((m) => ({ param: m.param, source: describeSource(m.source), min: m.min, max: m.max, ...(m.mode ? { mode: m.mode } : {}) }));
}

/**
 * Why a render cannot be saved as `target` (an absolute path), said before writing: the name is taken, or its
 * folder is missing or a file. Null when it can be tried.
 */
export function saveProblem(target: string): string | null {
  if (existsSync(target)) return `cannot save as ${target}: it exists; choose another name`;
  const dir = dirname(target);
  if (!existsSync(dir)) return `cannot save as ${target}: the folder ${dir} does not exist; create it first or choose another place`;
  if (!statSync(dir).isDirectory()) return `cannot save as ${target}: ${dir} is a file, not a folder; choose another place`;
  return null;
}

/** A failed save of a render as `target`, in one line naming the destination and the fix (never the temporary file). */
export function saveFailure(target: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const dir = dirname(target);
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? `no permission to write in ${dir}`
      : code === 'EROFS'
        ? `${dir} is on a read-only file system`
        : code === 'ENOSPC'
          ? 'the disk is full'
          : code === 'ENOENT' || code === 'ENOTDIR'
            ? `the folder ${dir} does not exist`
            : code === 'EISDIR'
              ? `${target} is a folder`
              : (code ?? String((e as Error)?.message ?? e).split('\n')[0]);
  return `cannot save as ${target}: ${why}; choose another place (or create the folder)`;
}

/** Where the instrument's renders go, said in its own terms (the engine's messages name `lts render`'s flags). */
const RENDERS_FIX = 'restart lts with LTS_STATE_DIR (or --state-dir) set to another writable folder (renders go to its renders/ folder)';

/**
 * An engine error about the renders folder, reworded for the instrument: the command line's `--dir`/`--out`
 * advice becomes the state folder setting that decides where the instrument writes.
 */
export function inTuiTerms(text: string): string {
  return text
    .replace(/choose another folder with --dir,? or a file(?: elsewhere)? with --out/g, RENDERS_FIX)
    .replace(/choose a shorter one with --out or --dir/g, 'restart lts with LTS_STATE_DIR (or --state-dir) set to a folder with a shorter path');
}

/** Props of {@link App}. */
export interface AppProps {
  services: TuiServices;
  /** Dataset folder (absolute). */
  dataset: string;
  /** Model folder (absolute). */
  model: string;
  /** Saved session to bring back once the dataset is listed, or null. */
  restore?: RestorableState | null;
  /** A one-line notice to show at start (e.g. a corrupt session moved aside). */
  notice?: string | null;
  /** Called with the state after every change (the runner saves the session, debounced). */
  onChange?: (state: AppState) => void;
  /** Called when the user quits, before the app unmounts. */
  onQuit?: () => void | Promise<void>;
  /** Terminal size when stdout has none (tests). */
  size?: { columns: number; rows: number };
  /** Timing probe: called with 'key' on every key press, `live-cc <ms>` per measured control latency (benchmarks) and `message <level> <text>` for every notice. */
  trace?: (event: string) => void;
  /** Start the OSC server on this UDP port at start-up (`--osc [PORT]`). */
  oscPort?: number | null;
  /** Port OSC replies go to (default the original's 7021). */
  oscReplyPort?: number;
  /** Called with the state after every change (the runner publishes it to the listening page). */
  onState?: (state: AppState) => void;
}

/** The whole instrument. */
export function App(props: AppProps) {
  const { services } = props;
  const { stdout } = useStdout();
  const { exit } = useApp();
  const size = () => ({
    columns: stdout.columns || props.size?.columns || 80,
    rows: stdout.rows || props.size?.rows || 24,
  });
  const store = useRef<AppState | null>(null);
  if (store.current === null) store.current = initialState({ dataset: props.dataset, model: props.model, ...size() });
  const [state, setState] = useState<AppState>(store.current);
  const [waves, setWaves] = useState<Record<string, WaveformData>>({});
  const waveCache = useRef(new Map<string, Promise<WaveformData>>());
  const playback = useRef<PlaybackHandle | null>(null);
  const renderAbort = useRef<AbortController | null>(null);
  const lastSamples = useRef<{ samples: Float32Array; sampleRate: number } | null>(null);
  const audioWarned = useRef(false);
  const ready = useRef(false);
  const pendingGenerate = useRef(false);
  const mapper = useRef<MidiMapper>(new MidiMapper());
  const mapperOff = useRef<(() => void) | null>(null);
  const midiInput = useRef<MidiInput | null>(null);
  const osc = useRef<OscHandle | null>(null);
  const teeStream = useRef<ListenLiveStream | null>(null);
  /**
   * Live updates: the timer of the next one, one request in flight at a time (`busy`), a change seen meanwhile
   * (`dirty`), and the stop requests so far (`stops`), so that an answer overtaken by a stop is not shown as playing.
   */
  const liveUpdate = useRef<{ timer: ReturnType<typeof setTimeout> | null; busy: boolean; dirty: boolean; stops: number }>({ timer: null, busy: false, dirty: false, stops: 0 });
  const midiUi = useRef<{ timer: ReturnType<typeof setTimeout> | null; pending: Action[] }>({ timer: null, pending: [] });

  const dispatch = useCallback((a: Action) => {
    const next = reducer(store.current as AppState, a);
    if (next !== store.current) {
      store.current = next;
      setState(next);
    }
  }, []);
  const say = useCallback(
    (text: string, level: 'info' | 'warn' | 'error' = 'info') => {
      props.trace?.(`message ${level} ${text}`);
      dispatch({ type: 'message', message: { text, level } });
    },
    [dispatch],
  );
  const errorText = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

  // Terminal resizes.
  useEffect(() => {
    const onResize = () => dispatch({ type: 'resize', ...size() });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  // Start-up: dataset, model, backend, audio output, session.
  useEffect(() => {
    let live = true;
    if (props.notice) say(props.notice, 'warn');
    let skippedNote: string | null = null;
    services
      .scanDataset(props.dataset)
      .then((r) => {
        if (!live) return;
        dispatch({ type: 'dataset-loaded', files: r.files, skipped: r.skipped });
        if (r.skipped.length) {
          const first = r.skipped[0];
          const reason = first.reason.startsWith(first.path) ? first.reason.slice(first.path.length).replace(/^[:\s]+/, '') : first.reason;
          const n = r.skipped.length;
          skippedNote = `${n} unreadable file${n > 1 ? 's' : ''} skipped: ${basename(first.path)}${n > 1 ? ', …' : ''} (${reason})`;
        }
      })
      .catch((e) => live && dispatch({ type: 'dataset-error', error: errorText(e) }))
      .finally(() => {
        if (!live) return;
        // The curve and settings come back even when the dataset cannot be listed; files only when they are in it.
        if (props.restore) dispatch({ type: 'restore', session: props.restore });
        if (props.notice) say(props.notice, 'warn');
        else if (skippedNote) say(skippedNote, 'warn');
        ready.current = true;
      });
    services.renderer.ready.then(
      // The status line shows the backend, and how many threads share a render's network, e.g. "wasm ×2".
      (b) => live && dispatch({ type: 'backend', name: b.threads !== undefined && b.threads > 1 ? `${b.backend} ×${b.threads}` : b.backend }),
      (e) => live && say(`render engine failed to start: ${errorText(e)}`, 'error'),
    );
    services.renderer
      .loadModel(props.model)
      .then((m) => {
        if (!live) return;
        dispatch({ type: 'model-loaded', name: m.name, sampleRate: m.sampleRate, transform: m.transform });
        if (pendingGenerate.current) {
          pendingGenerate.current = false;
          void generate();
        }
      })
      .catch((e) => {
        pendingGenerate.current = false;
        if (live) dispatch({ type: 'model-error', error: `model ${props.model}: ${errorText(e)}` });
      });
    services.audio.status().then(
      (s) => {
        if (!live) return;
        if (s.available) {
          dispatch({ type: 'audio-status', available: true, reason: null, devices: s.devices.map((d) => ({ id: d.id, name: d.name, isDefault: d.isDefault })) });
        } else {
          dispatch({ type: 'audio-status', available: false, reason: s.reason, devices: [] });
          if (!audioWarned.current) say(s.reason, 'warn');
          audioWarned.current = true;
        }
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    props.onState?.(state);
  }, [state]);

  // Encode the chosen excerpts ahead of Generate & Play, once the choice has stayed put for a moment: the
  // render worker then only mixes, decodes and rebuilds the phase when the player asks for the sound.
  const { A: slotA, B: slotB } = state.slots;
  useEffect(() => {
    const prepare = services.renderer.prepare;
    if (!prepare || !slotA || !slotB || !state.model.name || state.model.error) return;
    const params = { model: state.model.dir, a: { path: slotA.path, start: slotA.start }, b: { path: slotB.path, start: slotB.start }, duration: state.duration, sample: false };
    const timer = setTimeout(() => {
      // Errors (a start past the end, a silent excerpt) are the render's to report when it is asked for.
      prepare(params).catch(() => undefined);
    }, PREPARE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [slotA?.path, slotA?.start, slotB?.path, slotB?.start, state.duration, state.model.name, state.model.dir, state.model.error]);

  // Live mode events, MIDI, the OSC server and the listening page: after the first screen.
  useEffect(() => {
    const offs: (() => void)[] = [];
    if (services.live) offs.push(services.live.onEvent(onLiveEvent));
    const server = services.listen;
    if (server) {
      dispatch({ type: 'listen-status', url: server.url, clients: server.clientCount });
      say(`listen: open ${server.url} (over SSH: ssh -L ${server.port}:localhost:${server.port}); ? shows it again`);
      const poll = setInterval(() => dispatch({ type: 'listen-status', url: server.url, clients: server.clientCount }), 1000);
      poll.unref();
      offs.push(() => clearInterval(poll));
    }
    if (services.midiMapPath && existsSync(services.midiMapPath)) {
      try {
        mapper.current = loadMidiMap(services.midiMapPath);
      } catch (e) {
        say(`MIDI mappings not restored: ${errorText(e)}`, 'warn');
      }
    }
    wireMapper();
    const t = setTimeout(() => {
      openMidi();
      if (props.oscPort !== undefined && props.oscPort !== null) void toggleOsc(props.oscPort);
    }, 0);
    return () => {
      clearTimeout(t);
      for (const off of offs) off();
      mapperOff.current?.();
      if (liveUpdate.current.timer) clearTimeout(liveUpdate.current.timer);
      if (midiUi.current.timer) clearTimeout(midiUi.current.timer);
    };
  }, []);

  // Live mode follows the excerpts, the loop and mode settings, the output device (and the curve in offset mode):
  // updated in place (the device: restarted) LIVE_UPDATE_MS after a change.
  const st0 = state;
  useEffect(() => {
    scheduleLiveUpdate();
  }, [
    st0.slots.A?.path,
    st0.slots.A?.start,
    st0.slots.B?.path,
    st0.slots.B?.start,
    st0.duration,
    st0.live.loop,
    st0.live.mode,
    st0.settings.deviceId,
    st0.live.mode === 'offset' ? st0.curve.values : null,
  ]);

  // Session saving: every change of what a session holds, once the saved session has been restored.
  useEffect(() => {
    if (ready.current) props.onChange?.(state);
  }, [state.slots, state.duration, state.curve, state.settings, state.render.last, state.live.loop, state.live.mode, state.live.knob, ready.current]);

  // Decode the files of both slots for the waveform views.
  const wave = useCallback(
    (path: string): Promise<WaveformData> => {
      let p = waveCache.current.get(path);
      if (p) {
        // Most recently used last.
        waveCache.current.delete(path);
        waveCache.current.set(path, p);
      } else {
        p = services.loadAudio(path);
        waveCache.current.set(path, p);
        // Keep the decoded audio of the two slots and a few recent auditions, not of every file ever heard.
        const st = store.current as AppState;
        const keep = new Set([st.slots.A?.path, st.slots.B?.path, path]);
        for (const old of waveCache.current.keys()) {
          if (waveCache.current.size <= WAVE_CACHE_SIZE) break;
          if (keep.has(old)) continue;
          waveCache.current.delete(old);
          setWaves((w) => {
            const { [old]: _dropped, ...rest } = w;
            return rest;
          });
        }
        p.then(
          (w) => {
            setWaves((old) => ({ ...old, [path]: w }));
            // The excerpt limits follow what the file really holds (its header may promise more).
            dispatch({ type: 'file-decoded', path, duration: w.duration });
            // A cut-off or damaged file is played and rendered from what could be decoded: say so once, when it
            // loads, naming it as the list does (the warning starts with the full path).
            for (const text of w.warnings) say(text.startsWith(path) ? basename(path) + text.slice(path.length) : text, 'warn');
          },
          (e) => {
            waveCache.current.delete(path);
            dispatch({ type: 'file-unreadable', path });
            say(errorText(e), 'error');
          },
        );
      }
      return p;
    },
    [services],
  );
  useEffect(() => {
    for (const id of ['A', 'B'] as const) {
      const s = state.slots[id];
      if (s) void wave(s.path).catch(() => undefined);
    }
  }, [state.slots.A?.path, state.slots.B?.path]);

  const stopPlayback = () => {
    playback.current?.stop();
    playback.current = null;
  };

  const play = async (samples: Float32Array, sampleRate: number, what: string) => {
    stopPlayback();
    const st = store.current as AppState;
    if (st.audio.available === false) {
      say(`cannot play ${what}: ${st.audio.reason ?? 'no audio device'}`, 'warn');
      return;
    }
    const h = await services.audio.play(samples, sampleRate, st.settings.deviceId === null ? {} : { deviceId: st.settings.deviceId });
    if (!h.available) {
      dispatch({ type: 'audio-status', available: false, reason: h.reason, devices: [] });
      say(h.reason, 'warn');
      return;
    }
    playback.current = h;
    dispatch({ type: 'playing', what });
    void h.done.then((r) => {
      if (playback.current !== h) return;
      playback.current = null;
      dispatch({ type: 'playing', what: null });
      if (r.status === 'failed') say(`playback failed: ${r.reason ?? 'unknown reason'}`, 'error');
    });
  };

  const generate = async () => {
    const st = store.current as AppState;
    if (st.render.busy) return say('a render is running; Ctrl-X cancels it', 'warn');
    const { A, B } = st.slots;
    if (!A || !B) return say(`choose ${!A ? 'file A' : 'file B'} first: in the dataset list press ${!A ? '←' : '→'}`, 'warn');
    const bad = A.unreadable ? ['A', A] as const : B.unreadable ? ['B', B] as const : null;
    if (bad) return say(`file ${bad[0]} (${basename(bad[1].path)}) cannot be read; choose another with ${bad[0] === 'A' ? '←' : '→'} in the dataset list`, 'error');
    if (st.model.error) return say(st.model.error, 'error');
    if (!st.model.name) {
      pendingGenerate.current = true;
      return say('the model is still loading; generating as soon as it is ready (Ctrl-X cancels)');
    }
    const params: RenderParams = {
      model: st.model.dir,
      a: { path: A.path, start: A.start },
      b: { path: B.path, start: B.start },
      duration: st.duration,
      curve: formatCurveSpec(curveFromValues(st.curve.values, 'curve')),
      phase: defaultPhaseSettings(st.settings.method, st.settings.iterations),
      normalizeDbfs: st.settings.normalize ? NORMALIZE_DBFS : null,
      sample: false,
      seed: 0,
      fadeMs: 10,
    };
    stopPlayback();
    const ac = new AbortController();
    renderAbort.current = ac;
    dispatch({ type: 'render-start' });
    dispatch({ type: 'message', message: null });
    const t0 = performance.now();
    let lastTick = 0;
    try {
      const out = await services.renderer.render(params, { dir: services.rendersDir }, {
        signal: ac.signal,
        onProgress: (p) => {
          const now = performance.now();
          if (now - lastTick < 40 && p.fraction < 1) return;
          lastTick = now;
          dispatch({ type: 'render-progress', stage: p.stage, fraction: p.fraction });
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      lastSamples.current = { samples: out.samples, sampleRate: out.sampleRate };
      const duration = out.samples.length / out.sampleRate;
      dispatch({ type: 'render-done', last: { path: out.path, seconds, duration, peakDbfs: out.peakDbfs } });
      dispatch({ type: 'render-end' });
      const latest = store.current as AppState;
      if (latest.audio.available === false) say(`rendered ${basename(out.path)} in ${seconds.toFixed(1)} s (written to file; no audio device)`);
      else {
        say(`rendered ${basename(out.path)} in ${seconds.toFixed(1)} s, peak ${out.peakDbfs.toFixed(1)} dBFS`);
        await play(out.samples, out.sampleRate, basename(out.path));
      }
    } catch (e) {
      dispatch({ type: 'render-end' });
      if ((e as Error)?.name === 'RenderCancelled' || ac.signal.aborted) say('render cancelled');
      else say(`render failed: ${inTuiTerms(errorText(e))}`, 'error');
    } finally {
      if (renderAbort.current === ac) renderAbort.current = null;
    }
  };

  const playAgain = async () => {
    const st = store.current as AppState;
    if (lastSamples.current) return play(lastSamples.current.samples, lastSamples.current.sampleRate, basename(st.render.last?.path ?? 'render'));
    const last = st.render.last;
    if (!last || !existsSync(last.path)) return say('nothing rendered yet: Ctrl-G generates', 'warn');
    const w = await services.loadAudio(last.path);
    lastSamples.current = { samples: w.samples, sampleRate: w.sampleRate };
    return play(w.samples, w.sampleRate, basename(last.path));
  };

  const stop = () => {
    const st = store.current as AppState;
    if (pendingGenerate.current) {
      pendingGenerate.current = false;
      say('generate cancelled');
    }
    if (renderAbort.current) renderAbort.current.abort();
    if (playback.current || st.playing) {
      stopPlayback();
      dispatch({ type: 'playing', what: null });
    }
    if (st.live.on || st.live.starting) void stopLive().then(() => say('live mode stopped'));
    services.audio.stop();
  };

  const auditionFile = async () => {
    const e = selectedEntry(store.current as AppState);
    if (!e) return;
    const w = await wave(e.path);
    return play(w.samples, w.sampleRate, e.relPath);
  };

  const auditionExcerpt = async (id: SlotId) => {
    const st = store.current as AppState;
    const s = st.slots[id];
    if (!s) return say(`slot ${id} is empty`, 'warn');
    const w = await wave(s.path);
    const a = Math.floor(s.start * w.sampleRate);
    const b = Math.min(w.samples.length, Math.floor((s.start + st.duration) * w.sampleRate));
    return play(w.samples.slice(a, b), w.sampleRate, `${id} excerpt of ${basename(s.path)}`);
  };

  const saveRender = async (name: string) => {
    const st = store.current as AppState;
    const last = st.render.last;
    if (!last) return;
    let target = resolve(process.cwd(), name.trim());
    if (extname(target).toLowerCase() !== '.wav') target += '.wav';
    const problem = saveProblem(target);
    if (problem) return say(problem, 'error');
    const sidecar = (p: string) => p.replace(/\.wav$/i, '') + '.json';
    let data: Buffer;
    try {
      data = await readFile(last.path);
    } catch (e) {
      return say(`cannot save: the last render ${last.path} is gone (${errorText(e)}); Ctrl-G renders again`, 'error');
    }
    try {
      await writeFileAtomicAsync(target, data);
      if (existsSync(sidecar(last.path))) await writeFileAtomicAsync(sidecar(target), await readFile(sidecar(last.path)));
    } catch (e) {
      return say(saveFailure(target, e), 'error');
    }
    say(`saved ${target}`);
  };

  const acceptOverlay = async () => {
    const st = store.current as AppState;
    const o = st.overlay;
    if (!o) return;
    if (o.kind === 'devices') {
      const d = st.audio.devices[o.index];
      dispatch({ type: 'overlay', overlay: null });
      if (d) {
        dispatch({ type: 'device-choose', id: d.id });
        say(`audio output: ${d.name}`);
      }
    } else if (o.kind === 'presets') {
      const p = o.names[o.index];
      dispatch({ type: 'overlay', overlay: null });
      if (p) {
        const curve = loadPresetByName(p.name, [services.presetsDir]);
        dispatch({ type: 'curve-load', values: Array.from(sampleCurve(curve, st.layout.plotWidth)), name: p.name });
      }
    } else if (o.kind === 'midi') {
      const row = midiRow(st, o.index);
      if (!row) return;
      if (row.kind === 'port') {
        const input = midiInput.current;
        if (!input?.available) return say(input?.reason ?? 'no MIDI', 'warn');
        input.open(row.index);
        midiStatus();
        say(`MIDI input: ${input.openPortName ?? row.index}`);
      } else {
        if (st.midi.available === false) say(`${st.midi.reason ?? 'no MIDI'}: learning waits for a controller`, 'warn');
        mapper.current.armLearn(row.row.param, row.row.mode);
        publishMappings();
      }
    } else if (o.kind === 'midimaps') {
      const name = o.names[o.index];
      dispatch({ type: 'overlay', overlay: { kind: 'midi', index: 0 } });
      if (name) {
        const loaded = loadMidiMap(join(services.presetsDir, name + MIDI_MAP_SUFFIX));
        mapper.current = loaded;
        wireMapper();
        say(`MIDI mappings ${name} loaded (${loaded.mappings().length})`);
      }
    } else if (o.kind === 'prompt') {
      const text = o.text.trim();
      if (!text) return say('type a name first (Esc cancels)', 'warn');
      if (o.purpose === 'save-midi') {
        if (!/^[A-Za-z0-9._-]+$/.test(text)) return say('MIDI mapping names use letters, digits, - _ and . only', 'warn');
        dispatch({ type: 'overlay', overlay: { kind: 'midi', index: 0 } });
        const path = join(services.presetsDir, text + MIDI_MAP_SUFFIX);
        saveMidiMap(path, mapper.current);
        return say(`MIDI mappings saved: ${path}`);
      }
      dispatch({ type: 'overlay', overlay: null });
      if (o.purpose === 'save-render') await saveRender(text);
      else {
        const path = savePreset(services.presetsDir, text, curveFromValues(st.curve.values, 'curve'));
        say(`preset saved: ${path}`);
      }
    }
  };

  // ------------------------------------------------------------------ live mode

  const liveParams = (st: AppState): LiveStartParams | string => {
    const { A, B } = st.slots;
    if (!A || !B) return `choose ${!A ? 'file A' : 'file B'} first: in the dataset list press ${!A ? '←' : '→'}`;
    if (st.model.error) return st.model.error;
    if (!st.model.name) return 'the model is still loading; press Ctrl-L again in a moment';
    if (st.model.transform !== 'stft') return LIVE_NEEDS_STFT_TEXT;
    return {
      model: st.model.dir,
      backend: services.backend,
      a: { path: A.path, start: A.start },
      b: { path: B.path, start: B.start },
      duration: st.duration,
      loop: st.live.loop,
      mode: st.live.mode,
      curve: st.curve.values,
      amount: st.live.knob,
      deviceId: st.settings.deviceId,
      midi: { mappings: mapper.current.mappings(), rampMs: mapper.current.rampMs },
      tee: !!services.listen,
      audioEnv: services.audioEnv,
    };
  };

  /**
   * After a change live mode follows: send the current settings to the running stream LIVE_UPDATE_MS later.
   * One request is in flight at a time; changes meanwhile are sent when it is answered. While changes keep
   * coming the timer is not pushed back, so a held key or a moving knob updates the sound as it goes.
   */
  const scheduleLiveUpdate = () => {
    const l = (store.current as AppState).live;
    const u = liveUpdate.current;
    if (!l.on && !l.starting) return;
    if (u.busy) {
      u.dirty = true;
      return;
    }
    if (u.timer) return;
    u.timer = setTimeout(() => {
      u.timer = null;
      const now = (store.current as AppState).live;
      if (now.on || now.starting) void startLive(true);
    }, LIVE_UPDATE_MS);
  };

  /** Start live mode, or (`update`) give the running stream the current excerpts and settings. */
  const startLive = async (update = false) => {
    const st = store.current as AppState;
    if (!services.live) return say('live mode is not available in this build', 'warn');
    const params = liveParams(st);
    if (typeof params === 'string') {
      if (update) {
        await stopLive();
        return say(`live mode stopped: ${params}`, 'warn');
      }
      return say(params, params === LIVE_NEEDS_STFT_TEXT || params === st.model.error ? 'error' : 'warn');
    }
    if (!update) stopPlayback();
    const u = liveUpdate.current;
    u.busy = true;
    u.dirty = false;
    dispatch({ type: 'live-starting' });
    const stops = u.stops;
    let r: Awaited<ReturnType<typeof services.live.start>>;
    try {
      r = await services.live.start(params);
    } finally {
      u.busy = false;
    }
    if (!r.ok && r.superseded) return; // overtaken by a stop or a newer start: that one's outcome is what plays
    // Stopped while the engine answered (it started, then took the stop that followed): nothing plays.
    if (u.stops !== stops) return;
    if (!r.ok && !r.playing) {
      u.dirty = false;
      dispatch({ type: 'live-stopped' });
      return say(`live mode: ${r.message}`, 'error');
    }
    if (r.ok) dispatch({ type: 'live-started', frames: r.frames, latencyMs: r.latencyMs, updated: r.updated });
    else {
      dispatch({ type: 'live-kept' });
      say(`live: ${r.message} (still playing the previous excerpts)`, 'warn');
    }
    // Changes made while this request was in flight.
    if (u.dirty) {
      u.dirty = false;
      scheduleLiveUpdate();
    }
    if (!r.ok) return;
    if (!update) {
      const where = r.localDevice ? `${Math.round(r.latencyMs)} ms to the device${r.realtime ? ', real-time priority' : ''}` : 'no local device';
      say(`live: ${r.frames} frames at ${r.sampleRate} Hz, ${where}; [ ] moves the control, Ctrl-L stops${services.listen ? ', also on the listening page' : ''}`);
    }
  };

  const stopLive = async () => {
    const u = liveUpdate.current;
    u.stops++;
    if (u.timer) clearTimeout(u.timer);
    u.timer = null;
    u.dirty = false;
    const was = (store.current as AppState).live;
    if (!was.on && !was.starting) return;
    dispatch({ type: 'live-stopped' });
    await services.live?.stop();
  };

  const onLiveEvent = (e: LiveEvent) => {
    switch (e.type) {
      case 'status': {
        const s = e.status;
        if (!(store.current as AppState).live.on) return;
        dispatch({ type: 'live-status', position: s.position, frames: s.frames, amount: s.amount, underruns: s.underruns });
        return;
      }
      case 'ended': {
        const st = store.current as AppState;
        if (!st.live.on && !st.live.starting) return;
        dispatch({ type: 'live-stopped' });
        if (e.error) say(`live mode stopped: ${e.error}`, 'error');
        else say(`live: played once (${e.underruns} underruns); Ctrl-L plays again, Ctrl-R loops`);
        return;
      }
      case 'tee': {
        const server = services.listen;
        if (!server) return services.live?.ackTee(e.seq);
        teeStream.current ??= server.openLiveStream(e.sampleRate);
        void teeStream.current.write(e.samples).then(() => {
          if (e.awaitAck) services.live?.ackTee(e.seq);
        });
        return;
      }
      case 'tee-close':
        teeStream.current?.close();
        teeStream.current = null;
        return;
      case 'probe':
        props.trace?.(`live-cc ${e.probe.totalMs.toFixed(3)} ${e.probe.toWriteMs.toFixed(3)} ${e.probe.queuedMs.toFixed(3)}`);
        return;
    }
  };

  const knob = (delta: number) => {
    // A knob update still waiting for the screen is older than this key press.
    midiUi.current.pending = midiUi.current.pending.filter((a) => a.type !== 'live-knob');
    dispatch({ type: 'live-knob-nudge', delta });
    const st = store.current as AppState;
    services.live?.setAmount(st.live.knob);
    if (!st.live.on && !st.live.starting && !st.message) say(`live control ${st.live.knob.toFixed(2)} (live mode is off: Ctrl-L starts it)`);
  };

  const setLiveMode = (mode: 'absolute' | 'offset') => {
    dispatch({ type: 'live-mode', mode });
    // A mapped knob follows the mode: its range becomes the mode's default.
    const m = mapper.current.mappingOf('amount');
    if (m && (m.mode ?? 'absolute') !== mode) {
      const [min, max] = defaultRange('amount', mode);
      mapper.current.setMapping({ ...m, mode, min, max });
      publishMappings();
    }
    say(mode === 'offset' ? 'live control: an offset added to the drawn curve (−1..1)' : 'live control: the amount a itself (−0.3..1.3)');
  };

  // ------------------------------------------------------------------ MIDI

  /** Batch the screen updates of a fast-moving control (the sound gets every message at once). */
  const midiDispatch = (a: Action) => {
    const q = midiUi.current;
    q.pending = q.pending.filter((p) => !(p.type === a.type && (p.type !== 'selection-set' || (a.type === 'selection-set' && p.slot === a.slot))));
    q.pending.push(a);
    if (q.timer) return;
    q.timer = setTimeout(() => {
      q.timer = null;
      const all = q.pending;
      q.pending = [];
      for (const x of all) dispatch(x);
    }, MIDI_UI_INTERVAL_MS);
  };

  const publishMappings = () => {
    const m = mapper.current;
    const learn = m.learnState();
    dispatch({ type: 'midi-mappings', mappings: mappingViews(m), learning: learn.state === 'armed' ? { param: learn.param, mode: learn.mode } : null });
    services.live?.setMappings(m.mappings(), m.rampMs);
    if (services.midiMapPath) {
      try {
        saveMidiMap(services.midiMapPath, m);
      } catch (e) {
        say(`MIDI mappings not kept: ${errorText(e)}`, 'warn');
      }
    }
  };

  /** Subscribe to the current mapper: values, triggers and learns. */
  const wireMapper = () => {
    mapperOff.current?.();
    const m = mapper.current;
    const offs = [
      m.onChange((c) => {
        if (c.param === 'amount') {
          const mode = m.mappingOf('amount')?.mode ?? 'absolute';
          if (mode === (store.current as AppState).live.mode) midiDispatch({ type: 'live-knob', value: c.value, source: 'midi' });
        } else if (c.param === 'startA' || c.param === 'startB') {
          midiDispatch({ type: 'selection-set', slot: c.param === 'startA' ? 'A' : 'B', fraction: c.value });
        }
      }),
      m.onTrigger(() => {
        void generate();
      }),
      m.onLearn((x) => {
        if (x.param === 'amount' && x.mode && x.mode !== (store.current as AppState).live.mode) dispatch({ type: 'live-mode', mode: x.mode });
        publishMappings();
        say(`MIDI learn: ${x.param}${x.param === 'amount' ? ` (${x.mode})` : ''} ← ${describeSource(x.source)}`);
      }),
    ];
    mapperOff.current = () => offs.forEach((o) => o());
    publishMappings();
  };

  /** Every MIDI message, from the device callback (or any port backend): mapper first, then the live engine. */
  const handleMidi = (bytes: ArrayLike<number>, t: number) => {
    const events = mapper.current.handleBytes(bytes, t);
    services.live?.midi(bytes, t);
    for (let i = events.length - 1; i >= 0; i--) {
      const text = describeMidiEvent(events[i]);
      if (text) {
        midiDispatch({ type: 'midi-last', text });
        break;
      }
    }
  };

  const midiStatus = () => {
    const input = midiInput.current;
    if (!input) return;
    if (!input.available) return dispatch({ type: 'midi-status', available: false, reason: input.reason ?? 'no MIDI', ports: [], open: null });
    let ports: string[] = [];
    try {
      ports = input.listPorts();
    } catch (e) {
      say(`MIDI: ${errorText(e)}`, 'warn');
    }
    dispatch({ type: 'midi-status', available: true, reason: null, ports, open: input.openPortName ?? null });
  };

  const openMidi = () => {
    if (!services.midi || midiInput.current) return;
    const input = services.midi();
    midiInput.current = input;
    if (!input.available) return midiStatus();
    connectMidi(input, { handleBytes: handleMidi }, () => epochMs() / 1000, (e) => say(`MIDI: ${errorText(e)}`, 'error'));
    // A controller opens by itself (one is the common case); the panel picks another.
    try {
      openFirstController(input);
    } catch (e) {
      say(`MIDI: ${errorText(e)}`, 'warn');
    }
    midiStatus();
    input.watch(() => {
      try {
        openFirstController(input);
      } catch {
        // The port vanished again between listing and opening; the next change retries.
      }
      midiStatus();
    });
  };

  const midiMapNames = (): string[] => {
    try {
      return readdirSync(services.presetsDir)
        .filter((f) => f.endsWith(MIDI_MAP_SUFFIX))
        .map((f) => f.slice(0, -MIDI_MAP_SUFFIX.length))
        .sort();
    } catch {
      return [];
    }
  };

  // ------------------------------------------------------------------ OSC

  const toggleOsc = async (port?: number) => {
    const st = store.current as AppState;
    if (st.osc.starting) return;
    if (osc.current) {
      const h = osc.current;
      osc.current = null;
      await h.close();
      dispatch({ type: 'osc-status', running: false, starting: false, port: null, replyPort: null, error: null });
      return say('OSC server stopped');
    }
    if (!services.startOsc) return say('the OSC server is not available here', 'warn');
    const want = port ?? props.oscPort ?? 7020;
    dispatch({ type: 'osc-status', running: false, starting: true, port: want, replyPort: null, error: null });
    try {
      const h = await services.startOsc({
        port: want,
        replyPort: props.oscReplyPort,
        log: (line) => {
          if (line.startsWith('report: ') && !line.startsWith('report: Connection works')) say(`OSC: ${line.slice(8)}`);
        },
      });
      osc.current = h;
      dispatch({ type: 'osc-status', running: true, starting: false, port: h.port, replyPort: h.replyPort, error: null });
      const page = services.listen ? ` · page: ${services.listen.url}` : ': the original Max patch can drive lts';
      say(`OSC server on UDP ${h.port} (replies to ${h.replyPort})${page}`);
    } catch (e) {
      dispatch({ type: 'osc-status', running: false, starting: false, port: null, replyPort: null, error: errorText(e) });
      say(`OSC server: ${errorText(e)}`, 'error');
    }
  };

  const quit = async () => {
    dispatch({ type: 'quit' });
    if (renderAbort.current) renderAbort.current.abort();
    stopPlayback();
    await stopLive().catch(() => undefined);
    if (osc.current) await osc.current.close().catch(() => undefined);
    midiInput.current?.close();
    await props.onQuit?.();
    exit();
  };

  const runEffect = async (e: Effect) => {
    const st = store.current as AppState;
    switch (e.effect) {
      case 'generate':
        return generate();
      case 'play-again':
        return playAgain();
      case 'stop':
        return stop();
      case 'save-render-prompt':
        if (!st.render.last) return say('nothing rendered yet: Ctrl-G generates', 'warn');
        return dispatch({ type: 'overlay', overlay: { kind: 'prompt', purpose: 'save-render', label: 'Save the last render as (WAV, relative to the current folder):', text: basename(st.render.last.path) } });
      case 'device-picker': {
        const s = await services.audio.status();
        if (!s.available) {
          dispatch({ type: 'audio-status', available: false, reason: s.reason, devices: [] });
          return say(s.reason, 'warn');
        }
        const devices = s.devices.map((d) => ({ id: d.id, name: d.name, isDefault: d.isDefault }));
        dispatch({ type: 'audio-status', available: true, reason: null, devices });
        const cur = devices.findIndex((d) => (st.settings.deviceId === null ? d.isDefault : d.id === st.settings.deviceId));
        return dispatch({ type: 'overlay', overlay: { kind: 'devices', index: Math.max(0, cur) } });
      }
      case 'preset-picker': {
        const names = listPresets([services.presetsDir]).map((p) => ({ name: p.name, description: p.description }));
        return dispatch({ type: 'overlay', overlay: { kind: 'presets', index: 0, names } });
      }
      case 'save-preset-prompt':
        return dispatch({ type: 'overlay', overlay: { kind: 'prompt', purpose: 'save-preset', label: `Save the curve as preset (name; saved in ${services.presetsDir}):`, text: '' } });
      case 'audition-file':
        return auditionFile();
      case 'audition-excerpt':
        return auditionExcerpt(e.slot);
      case 'overlay-accept':
        return acceptOverlay();
      case 'live-toggle':
        if (st.live.on || st.live.starting) {
          await stopLive();
          return say('live mode stopped');
        }
        return startLive();
      case 'knob':
        return knob(e.delta);
      case 'live-loop':
        dispatch({ type: 'live-loop-toggle' });
        return say((store.current as AppState).live.loop ? 'live: the excerpt pair loops' : 'live: the excerpt pair plays once');
      case 'live-mode':
        return setLiveMode(st.live.mode === 'absolute' ? 'offset' : 'absolute');
      case 'midi-panel':
        if (st.overlay?.kind === 'midi') {
          mapper.current.cancelLearn();
          publishMappings();
          return dispatch({ type: 'overlay', overlay: null });
        }
        openMidi();
        midiStatus();
        return dispatch({ type: 'overlay', overlay: { kind: 'midi', index: 0 } });
      case 'midi-rescan':
        midiStatus();
        return say(st.midi.available === false ? (st.midi.reason ?? 'no MIDI') : `MIDI ports: ${(store.current as AppState).midi.ports.length}`);
      case 'midi-clear': {
        const row = st.overlay?.kind === 'midi' ? midiRow(st, st.overlay.index) : null;
        if (row?.kind !== 'learn') return;
        mapper.current.clearMapping(row.row.param);
        publishMappings();
        return say(`MIDI: ${row.row.param} unmapped`);
      }
      case 'midi-save-prompt':
        return dispatch({ type: 'overlay', overlay: { kind: 'prompt', purpose: 'save-midi', label: `Save the MIDI mappings as (name; saved in ${services.presetsDir}):`, text: '' } });
      case 'midi-load-picker':
        return dispatch({ type: 'overlay', overlay: { kind: 'midimaps', index: 0, names: midiMapNames() } });
      case 'osc-toggle':
        return toggleOsc();
      case 'quit':
        return quit();
    }
  };

  useInput(
    (rawInput, rawKey) => {
      props.trace?.('key');
      for (const [input, key] of splitKeys(rawInput, rawKey)) {
        const st = store.current as AppState;
        if (st.quitting) return;
        const cmd = commandForKey(st, input, key);
        if (cmd === null) continue;
        if (isEffect(cmd)) {
          runEffect(cmd).catch((e) => say(errorText(e), 'error'));
        } else {
          // A new key press replaces an old notice.
          if (st.message && cmd.type !== 'message') dispatch({ type: 'message', message: null });
          dispatch(cmd);
        }
      }
    },
    { isActive: true },
  );

  return <Screen state={state} waves={waves} />;
}

/** The full screen for a state (pure: used by the app and by tests). */
export function Screen({ state, waves }: { state: AppState; waves: Record<string, WaveformData> }) {
  const { layout } = state;
  if (layout.tooSmall) return <TooSmall state={state} />;
  const o = state.overlay;
  let main: React.ReactNode;
  if (o?.kind === 'help') main = <HelpOverlay state={state} />;
  else if (o) {
    main = (
      <Box width={layout.columns} height={layout.mainHeight} alignItems="center" justifyContent="center">
        {o.kind === 'devices' ? (
          <PickerOverlay
            state={state}
            title="Audio output (Enter selects)"
            items={state.audio.devices.map((d) => `${d.name}${d.isDefault ? '  (default)' : ''}`)}
            index={o.index}
          />
        ) : o.kind === 'presets' ? (
          <PickerOverlay
            state={state}
            title="Curve presets (Enter loads)"
            items={o.names.map((p) => (p.description ? `${p.name} — ${p.description}` : p.name))}
            index={o.index}
          />
        ) : o.kind === 'midi' ? (
          <MidiOverlay state={state} index={o.index} />
        ) : o.kind === 'midimaps' ? (
          <PickerOverlay state={state} title="MIDI mappings (Enter loads, Esc back)" items={o.names} index={o.index} />
        ) : (
          <PromptOverlay state={state} label={o.label} text={o.text} />
        )}
      </Box>
    );
  } else {
    main = (
      <Box flexDirection="row" height={layout.mainHeight}>
        <DatasetPanelMemo state={state} />
        <Box flexDirection="column" width={1}>
          <Text color="gray">{new Array<string>(layout.mainHeight).fill('│').join('\n')}</Text>
        </Box>
        <Box flexDirection="column" width={layout.rightWidth}>
          <WaveformPanelMemo state={state} id="A" wave={state.slots.A ? waves[state.slots.A.path] : undefined} />
          <WaveformPanelMemo state={state} id="B" wave={state.slots.B ? waves[state.slots.B.path] : undefined} />
          <CurvePanelMemo state={state} />
        </Box>
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={layout.columns} height={layout.height}>
      <StatusLine state={state} />
      {main}
      <TransportBar state={state} />
      <MessageLine state={state} />
    </Box>
  );
}
