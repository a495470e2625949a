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
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { writeFileAtomicAsync } from '../io/atomic.ts';
import { curveFromValues, formatCurveSpec, listPresets, loadPresetByName, sampleCurve, savePreset } from '../engine/curve.ts';
import type { RenderParams } from '../engine/render-types.ts';
import type { PlaybackHandle } from '../io/audio-out.ts';
import { commandForKey, isEffect, splitKeys, type Effect } from './keys.ts';
import { initialState, reducer, selectedEntry, type Action, type AppState, type RestorableState, type SlotId } from './state.ts';
import type { TuiServices } from './services.ts';
import type { WaveformData } from './waveform.ts';
import {
  CurvePanelMemo,
  DatasetPanelMemo,
  HelpOverlay,
  MessageLine,
  PickerOverlay,
  PromptOverlay,
  StatusLine,
  TooSmall,
  TransportBar,
  WaveformPanelMemo,
} from './components.tsx';

/** Decoded files kept in memory for the waveform views and auditioning (the two slots are always kept). */
export const WAVE_CACHE_SIZE = 4;

/** Peak level of normalised renders, dBFS. */
export const NORMALIZE_DBFS = -1;

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
  /** Timing probe: called with 'key' on every key press (benchmarks). */
  trace?: (event: 'key') => void;
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

  const dispatch = useCallback((a: Action) => {
    const next = reducer(store.current as AppState, a);
    if (next !== store.current) {
      store.current = next;
      setState(next);
    }
  }, []);
  const say = useCallback((text: string, level: 'info' | 'warn' | 'error' = 'info') => dispatch({ type: 'message', message: { text, level } }), [dispatch]);
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
      (b) => live && dispatch({ type: 'backend', name: b.backend }),
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

  // Session saving: every change of what a session holds, once the saved session has been restored.
  useEffect(() => {
    if (ready.current) props.onChange?.(state);
  }, [state.slots, state.duration, state.curve, state.settings, state.render.last, ready.current]);

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
          (w) => setWaves((old) => ({ ...old, [path]: w })),
          (e) => {
            waveCache.current.delete(path);
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
      phase: { method: st.settings.method, iterations: st.settings.iterations, momentum: 0.99 },
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
      else say(`render failed: ${errorText(e)}`, 'error');
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
    if (existsSync(target)) return say(`${target} exists; choose another name`, 'error');
    const sidecar = (p: string) => p.replace(/\.wav$/i, '') + '.json';
    await writeFileAtomicAsync(target, await readFile(last.path));
    if (existsSync(sidecar(last.path))) await writeFileAtomicAsync(sidecar(target), await readFile(sidecar(last.path)));
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
    } else if (o.kind === 'prompt') {
      const text = o.text.trim();
      if (!text) return say('type a name first (Esc cancels)', 'warn');
      dispatch({ type: 'overlay', overlay: null });
      if (o.purpose === 'save-render') await saveRender(text);
      else {
        const path = savePreset(services.presetsDir, text, curveFromValues(st.curve.values, 'curve'));
        say(`preset saved: ${path}`);
      }
    }
  };

  const quit = async () => {
    dispatch({ type: 'quit' });
    if (renderAbort.current) renderAbort.current.abort();
    stopPlayback();
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
