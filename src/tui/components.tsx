/**
 * The panels of the instrument. Components only render: they take the
 * state (and the decoded waveforms) as props and draw fixed-width lines;
 * every key is handled by the app through `keys.ts`.
 */
import React, { useMemo } from 'react';
import { Box, Text } from 'ink';
import { KEYMAP, hintFor } from './keys.ts';
import { LEARN_ROWS, filteredFiles, type AppState, type Slot, type SlotId } from './state.ts';
import { GUTTER } from './layout.ts';
import { renderWaveform, selectionColumns, timeAxis, type WaveformData } from './waveform.ts';
import { curveGutter, drawCurve, type CurveCellKind } from './curve-view.ts';
import { RENDER_STAGES, type RenderStage } from '../engine/render-types.ts';
import { fit, fitLeft, fitMiddle, formatRate, formatSeconds, progressBar, spread } from './text.ts';

/** Colour of each slot: A cyan, B yellow (both legible on dark and light backgrounds). */
export const SLOT_COLOR: Record<SlotId, string> = { A: 'cyan', B: 'yellow' };

/** A panel title line: inverse when the panel has the focus. */
function Title({ text, focused, width }: { text: string; focused: boolean; width: number }) {
  return (
    <Text inverse={focused} bold={focused} color={focused ? undefined : 'gray'} wrap="truncate">
      {fit(text, width)}
    </Text>
  );
}

/** A path as the status line shows it: relative to the current folder when inside it, else with `~` for the home folder. */
export function displayPath(p: string, cwd = process.cwd(), home = process.env.HOME ?? ''): string {
  if (p.startsWith(cwd + '/')) return p.slice(cwd.length + 1);
  if (home && p.startsWith(home + '/')) return '~' + p.slice(home.length);
  return p;
}

/** The status line: model, transform and sample rate, backend, last render. */
export function StatusLine({ state }: { state: AppState }) {
  const w = state.layout.columns;
  const m = state.model;
  const model = m.error
    ? 'model: not loaded'
    : m.name
      ? `${m.name} · ${m.transform} ${m.sampleRate ? formatRate(m.sampleRate) + 'Hz' : ''}`
      : 'model: loading…';
  const backend = state.backend ?? 'backend…';
  const last = state.render.last;
  const services = serviceBadges(state);
  const right = last ? `last ${fitLeft(displayPath(last.path), Math.max(12, Math.floor(w / (services ? 4 : 3))))} ${last.seconds.toFixed(1)} s` : 'no render yet';
  return (
    <Text inverse wrap="truncate">
      {spread(` LTS │ ${model} │ ${backend}${services ? ' │ ' + services : ''}`, right + ' ', w)}
    </Text>
  );
}

/** The status line's short notes on the servers and the MIDI port: `OSC 7020`, `web 7070 (1)`, `MIDI nanoKONTROL2`. */
export function serviceBadges(state: AppState): string {
  const parts: string[] = [];
  if (state.live.on) parts.push('LIVE');
  if (state.osc.running && state.osc.port !== null) parts.push(`OSC ${state.osc.port}`);
  else if (state.osc.starting) parts.push('OSC…');
  if (state.listen.url) {
    const port = /:(\d+)\//.exec(state.listen.url)?.[1] ?? '';
    parts.push(`web ${port}${state.listen.clients ? ` (${state.listen.clients})` : ''}`);
  }
  if (state.midi.open) parts.push(`MIDI ${state.midi.open.slice(0, 16)}`);
  return parts.join(' · ');
}

/** A file's list name: its relative path without a common audio extension. */
export function displayName(relPath: string): string {
  return relPath.replace(/\.(wav|wave|flac|mp3|ogg|oga|opus|rf64)$/i, '');
}

/** The dataset browser: every audio file with duration and sample rate, a filter, and the A/B marks. */
export function DatasetPanel({ state }: { state: AppState }) {
  const { layout, dataset } = state;
  const w = layout.listWidth;
  const focused = state.focus === 'dataset' && !state.overlay;
  const files = filteredFiles(state);
  const title = `Dataset ${files.length}${dataset.filter ? '/' + dataset.files.length : ''}`;
  const rows: React.ReactNode[] = [];
  if (dataset.loading) rows.push(<Text key="l" color="gray">{fit(' scanning…', w)}</Text>);
  else if (dataset.error) rows.push(<Text key="e" color="red" wrap="truncate">{fit(' ' + dataset.error, w)}</Text>);
  else if (files.length === 0) rows.push(<Text key="n" color="gray">{fit(dataset.filter ? ' no match (Esc clears)' : ' no audio files', w)}</Text>);
  const visible = files.slice(dataset.scroll, dataset.scroll + layout.listRows);
  visible.forEach((f, k) => {
    const i = dataset.scroll + k;
    const inA = state.slots.A?.path === f.path;
    const inB = state.slots.B?.path === f.path;
    const info = ` ${(f.duration < 10 ? f.duration.toFixed(1) : String(Math.round(f.duration))).padStart(4)}s ${formatRate(f.sampleRate).padStart(5)}`;
    const nameW = Math.max(4, w - 2 - info.length);
    const selected = i === dataset.index;
    rows.push(
      <Text key={f.path} wrap="truncate" inverse={selected && focused} bold={selected}>
        <Text color={SLOT_COLOR.A}>{inA ? 'A' : ' '}</Text>
        <Text color={SLOT_COLOR.B}>{inB ? 'B' : ' '}</Text>
        {fit(displayName(f.relPath), nameW)}
        <Text color={selected && focused ? undefined : 'gray'}>{info}</Text>
      </Text>,
    );
  });
  while (rows.length < layout.listRows) rows.push(<Text key={'pad' + rows.length}>{' '.repeat(w)}</Text>);
  const sel = files[dataset.index];
  const footer = dataset.filter
    ? `filter: ${dataset.filter}▏`
    : sel
      ? fitMiddle(sel.relPath, w - 1).trimEnd()
      : 'type to filter';
  return (
    <Box flexDirection="column" width={w} height={layout.mainHeight}>
      <Title text={` ${title}`} focused={focused} width={w} />
      {rows}
      <Text color={dataset.filter ? 'green' : 'gray'} wrap="truncate">
        {fit(' ' + footer, w)}
      </Text>
    </Box>
  );
}

/** One waveform view: the whole file (or the zoomed range), the excerpt highlighted, a time axis. */
export function WaveformPanel({ state, id, wave }: { state: AppState; id: SlotId; wave: WaveformData | undefined }) {
  const { layout } = state;
  const slot: Slot | null = state.slots[id];
  const focused = state.focus === (id === 'A' ? 'waveA' : 'waveB') && !state.overlay;
  const w = layout.rightWidth;
  const pw = layout.plotWidth;
  const color = SLOT_COLOR[id];
  if (!slot) {
    const lines = [];
    for (let r = 0; r < layout.waveRows + 1; r++) {
      const msg = r === Math.floor(layout.waveRows / 2) ? `choose a file: ${id === 'A' ? '←' : '→'} in the dataset list` : '';
      lines.push(
        <Text key={r} color="gray">
          {fit(' '.repeat(GUTTER) + msg, w)}
        </Text>,
      );
    }
    return (
      <Box flexDirection="column" width={w}>
        <Title text={` ${id}  (empty)`} focused={focused} width={w} />
        {lines}
      </Box>
    );
  }
  const [t0, t1] = slot.view;
  const s1 = slot.start + state.duration;
  const zoomed = t0 > 1e-6 || t1 < slot.fileDuration - 1e-6;
  const right = `${formatSeconds(slot.start)}–${formatSeconds(s1)}${zoomed ? ` · zoom ${(slot.fileDuration / (t1 - t0)).toFixed(1)}×` : ''} `;
  const title = spread(` ${id}  ${slot.relPath}`, right, w);
  const lines = useMemo(
    () =>
      wave
        ? renderWaveform(wave, t0, t1, pw, layout.waveRows)
        : new Array<string>(layout.waveRows).fill(fit(slot.unreadable ? '  cannot read: see message; choose another file' : '  loading…', pw)),
    [wave, t0, t1, pw, layout.waveRows, slot.unreadable],
  );
  const axis = useMemo(() => timeAxis(t0, t1, pw), [t0, t1, pw]);
  const [c0, c1] = selectionColumns(slot.start, s1, t0, t1, pw);
  const mid = Math.floor(layout.waveRows / 2);
  return (
    <Box flexDirection="column" width={w}>
      <Title text={title} focused={focused} width={w} />
      {lines.map((line, r) => (
        <Text key={r} wrap="truncate">
          <Text color={color} bold>
            {fit(r === mid ? `  ${id}` : '', GUTTER)}
          </Text>
          <Text dimColor>{line.slice(0, c0)}</Text>
          <Text color={color} backgroundColor={focused ? 'blackBright' : undefined}>
            {line.slice(c0, c1)}
          </Text>
          <Text dimColor>{line.slice(c1)}</Text>
        </Text>
      ))}
      <Text color="gray" wrap="truncate">
        {' '.repeat(GUTTER)}
        {axis}
      </Text>
    </Box>
  );
}

const KIND_STYLE: Record<CurveCellKind, { color?: string; backgroundColor?: string; dimColor?: boolean }> = {
  curve: { color: 'green' },
  'curve-extra': { color: 'magenta', backgroundColor: 'blackBright' },
  empty: {},
  zone: { backgroundColor: 'blackBright' },
  guide: { color: 'gray', dimColor: true },
};

/**
 * Cells drawn alike: empty cells take the guide style (a space looks the same
 * in any foreground colour), so a dotted guide row is one text run instead of
 * one per cell, which keeps Ink's per-frame work small.
 */
const STYLE_GROUP: Record<CurveCellKind, CurveCellKind> = { curve: 'curve', 'curve-extra': 'curve-extra', empty: 'guide', zone: 'zone', guide: 'guide' };

/** The curve editor: amount of A per column over the excerpt, extrapolation zones shaded, cursor column inverse, breakpoint column on blue. */
export function CurvePanel({ state }: { state: AppState }) {
  const { layout, curve } = state;
  const focused = state.focus === 'curve' && !state.overlay;
  const w = layout.rightWidth;
  const pw = layout.plotWidth;
  const drawing = useMemo(() => drawCurve(curve.values, layout.curveRows, curve.range), [curve.values, layout.curveRows, curve.range]);
  const gutter = useMemo(() => curveGutter(layout.curveRows, curve.range, GUTTER - 1), [layout.curveRows, curve.range]);
  const axis = useMemo(() => timeAxis(0, state.duration, pw), [state.duration, pw]);
  const n = curve.values.length;
  const tCursor = n > 1 ? (curve.cursor / (n - 1)) * state.duration : 0;
  const a = curve.values[curve.cursor] ?? 0;
  const zone = a > 1 ? ' beyond A' : a < 0 ? ' beyond B' : '';
  const mark = curve.mark !== null ? ` · b@${((curve.mark / Math.max(1, n - 1)) * state.duration).toFixed(2)}` : '';
  const title = spread(` Curve  t ${tCursor.toFixed(2)} s  a ${a.toFixed(2)}${zone}`, `range ${curve.range[0]}..${curve.range[1]}${mark} `, w);
  return (
    <Box flexDirection="column" width={w}>
      <Title text={title} focused={focused} width={w} />
      {drawing.lines.map((line, r) => {
        const kinds = drawing.kinds[r];
        const segs: React.ReactNode[] = [];
        let start = 0;
        const chars = [...line];
        for (let c = 1; c <= chars.length; c++) {
          const boundary =
            c === chars.length ||
            STYLE_GROUP[kinds[c]] !== STYLE_GROUP[kinds[start]] ||
            c === curve.cursor ||
            c === curve.cursor + 1 ||
            c === curve.mark ||
            c === (curve.mark ?? -2) + 1;
          if (!boundary) continue;
          const isCursor = start === curve.cursor;
          const isMark = start === curve.mark && !isCursor;
          const st = KIND_STYLE[STYLE_GROUP[kinds[start]]];
          segs.push(
            <Text
              key={start}
              {...st}
              backgroundColor={isMark ? 'blue' : st.backgroundColor}
              inverse={isCursor && focused}
              underline={isCursor && !focused}
            >
              {chars.slice(start, c).join('')}
            </Text>,
          );
          start = c;
        }
        return (
          <Text key={r} wrap="truncate">
            <Text color="gray">{gutter[r] + ' '}</Text>
            {segs}
          </Text>
        );
      })}
      <Text color="gray" wrap="truncate">
        {' '.repeat(GUTTER)}
        {axis}
      </Text>
    </Box>
  );
}

/** The transport line: actions with their keys, Normalize, phase method and iterations, output device; the live line while live mode runs. */
export function TransportBar({ state }: { state: AppState }) {
  if (state.live.on || state.live.starting) return <LiveLine state={state} />;
  const focused = state.focus === 'transport' && !state.overlay;
  const w = state.layout.columns;
  const s = state.settings;
  const dev =
    state.audio.available === false
      ? 'file only'
      : s.deviceId === null
        ? 'default'
        : (state.audio.devices.find((d) => d.id === s.deviceId)?.name ?? `#${s.deviceId}`);
  const wide = w >= 100;
  const actions = wide ? '^G Generate&Play  ^P Again  ^X Stop  ^S Save' : '^G Gen&Play ^P Again ^X Stop ^S Save';
  const phase = s.method === 'pghi' ? 'pghi (no iterations)' : `${s.method} ×${s.iterations}`;
  const settings = `Norm ${s.normalize ? 'on' : 'off'} │ ${phase} │ out ${dev}`;
  return (
    <Text inverse={focused} wrap="truncate">
      <Text bold color={focused ? undefined : 'green'}>
        {focused ? '▶' : ' '}
      </Text>
      {spread(actions, settings + ' ', w - 1)}
    </Text>
  );
}

/** Share of a render's time each stage takes (phase reconstruction dominates), for one overall progress bar. */
export const STAGE_WEIGHTS: Record<RenderStage, number> = { load: 0.1, encode: 0.1, decode: 0.1, phase: 0.6, write: 0.1 };

/** Overall render progress in [0, 1] from the current stage and the fraction of it done. */
export function overallProgress(stage: string | null, fraction: number): number {
  let done = 0;
  for (const st of RENDER_STAGES) {
    if (st === stage) return Math.min(1, done + STAGE_WEIGHTS[st] * Math.max(0, Math.min(1, fraction)));
    done += STAGE_WEIGHTS[st];
  }
  return 0;
}

/** The message line: render progress with the stage, the latest notice, playback, or else the key hints of the focused panel. */
export function MessageLine({ state }: { state: AppState }) {
  const w = state.layout.columns;
  const r = state.render;
  if (r.busy) {
    const overall = overallProgress(r.stage, r.fraction);
    const label = ` Rendering ${(r.stage ?? '').padEnd(6)} `;
    const tail = ` ${Math.round(overall * 100)
      .toString()
      .padStart(3)} %  Ctrl-X cancels`;
    const bw = Math.max(5, w - label.length - tail.length - 2);
    return (
      <Text wrap="truncate" color="green">
        {label}▕{progressBar(overall, bw)}▏{tail}
      </Text>
    );
  }
  const m = state.message;
  if (m) {
    return (
      <Text wrap="truncate" color={m.level === 'error' ? 'red' : m.level === 'warn' ? 'yellow' : 'green'}>
        {fit(' ' + m.text, w)}
      </Text>
    );
  }
  if (state.playing) {
    return <Text wrap="truncate" color="cyan">{fit(` ♪ playing ${state.playing.what}  (Ctrl-X stops)`, w)}</Text>;
  }
  return (
    <Text color="gray" wrap="truncate">
      {fit(' ' + hintFor(state), w)}
    </Text>
  );
}

/** Who moves the live control: `keys`, or the mapped MIDI source (e.g. `CC 1 ch 1`). */
export function knobSource(state: AppState): string {
  if (state.live.source === 'keys') return 'keys';
  const m = state.midi.mappings.find((x) => x.param === 'amount');
  return m ? `MIDI ${m.source}` : 'MIDI';
}

/**
 * The live-mode line (in place of the transport while live mode runs): the control value and who
 * set it, the amount the engine decodes with, the frame position, loop or once, and underruns.
 */
export function LiveLine({ state }: { state: AppState }) {
  const w = state.layout.columns;
  const l = state.live;
  if (l.starting && !l.on) return <Text wrap="truncate" color="magenta">{fit(' ● LIVE starting: encoding the excerpts, opening the stream…  (Ctrl-L stops)', w)}</Text>;
  const knob = l.mode === 'offset' ? `offset ${l.knob >= 0 ? '+' : ''}${l.knob.toFixed(2)}` : `a ${l.knob.toFixed(2)}`;
  const dec = l.mode === 'offset' && l.amount !== null ? ` → a ${l.amount.toFixed(2)}` : '';
  const pos = l.frames > 0 ? `frame ${String(l.position + 1).padStart(String(l.frames).length)}/${l.frames}` : 'frame –';
  const barW = w >= 100 ? 16 : 8;
  const bar = progressBar(l.frames > 1 ? l.position / (l.frames - 1) : 0, barW);
  const tail = `${l.loop ? 'loop' : 'once'} · xruns ${l.underruns}${w >= 100 ? ' · [ ] knob · ^L stop' : ''}`;
  return (
    <Text wrap="truncate" color="magenta">
      {fit(` ● LIVE ${knob}${dec} (${knobSource(state)}) ${pos} ▕${bar}▏ ${tail}`, w)}
    </Text>
  );
}

/** The MIDI panel: input ports (Enter opens, r rescans), the learnable parameters with their mappings, learn state. */
export function MidiOverlay({ state, index }: { state: AppState; index: number }) {
  const { layout } = state;
  const w = Math.min(layout.columns, 76);
  const m = state.midi;
  const rows: { text: string; dim?: boolean; head?: boolean; selectable?: number }[] = [];
  const status = m.available === false ? (m.reason ?? 'no MIDI') : m.available === null ? 'probing…' : m.open ? `open: ${m.open}` : 'no port open';
  rows.push({ text: `Input ports — ${status}`, head: true });
  if (m.available !== false && m.ports.length === 0) rows.push({ text: '  (none; connect a device, r rescans)', dim: true });
  m.ports.forEach((p, i) => rows.push({ text: `  ${p === m.open ? '●' : ' '} ${i}: ${p}`, selectable: i }));
  rows.push({ text: 'Parameters — Enter learns, Del unmaps', head: true });
  LEARN_ROWS.forEach((r, k) => {
    const map = m.mappings.find((x) => x.param === r.param && (r.param !== 'amount' || (x.mode ?? 'absolute') === r.mode));
    const learning = m.learning && m.learning.param === r.param && (r.param !== 'amount' || m.learning.mode === r.mode);
    const bound = learning ? '… move a control' : map ? `${map.source}${r.param === 'trigger' ? '' : `  ${map.min}..${map.max}`}` : '—';
    rows.push({ text: `  ${fit(r.label, 27)} ${bound}`, selectable: m.ports.length + k });
  });
  rows.push({ text: m.last ? `last message: ${m.last}` : 'last message: —', dim: true });
  const h = Math.min(layout.mainHeight, rows.length + 3);
  const inner = Math.max(1, h - 3);
  const sel = rows.findIndex((r) => r.selectable === index);
  const scroll = Math.max(0, Math.min(sel - Math.floor(inner / 2), rows.length - inner));
  return (
    <Box flexDirection="column" width={w} height={h} borderStyle="round" borderColor="magenta">
      <Text bold color="magenta">
        {fit('MIDI  (w save · l load · r rescan · Esc closes)', w - 2)}
      </Text>
      {rows.slice(scroll, scroll + inner).map((r, k) => (
        <Text key={k} inverse={r.selectable === index} bold={r.head} color={r.head ? 'magenta' : r.dim ? 'gray' : undefined} wrap="truncate">
          {fit(r.text, w - 2)}
        </Text>
      ))}
    </Box>
  );
}

/** The help overlay: every key of every panel, in as many 44-column columns as fit, scrollable. */
export function HelpOverlay({ state }: { state: AppState }) {
  const { layout } = state;
  const w = layout.columns;
  const h = layout.mainHeight;
  const lines: { text: string; head: boolean }[] = [];
  if (state.listen.url) lines.push({ text: 'Listening page (open in a browser)', head: true }, { text: '  ' + state.listen.url, head: false });
  if (state.osc.running) {
    lines.push({ text: `OSC server: UDP ${state.osc.port}, replies to ${state.osc.replyPort}`, head: true });
  }
  for (const sec of KEYMAP) {
    if (lines.length > 0) lines.push({ text: '', head: false });
    lines.push({ text: sec.section, head: true });
    for (const k of sec.keys) lines.push({ text: `  ${fit(k.keys, 20)} ${k.does}`, head: false });
  }
  const inner = Math.max(1, h - 3);
  const colCount = Math.max(1, Math.min(3, Math.floor((w - 2) / 59)));
  const colW = Math.floor((w - 2) / colCount);
  const perPage = inner * colCount;
  const maxScroll = Math.max(0, lines.length - perPage);
  const scroll = Math.min(state.overlay?.kind === 'help' ? state.overlay.scroll : 0, maxScroll);
  const shown = lines.slice(scroll, scroll + perPage);
  const cols: (typeof lines)[] = [];
  for (let i = 0; i < colCount; i++) cols.push(shown.slice(i * inner, (i + 1) * inner));
  const footer =
    maxScroll > 0 ? `keys ${scroll + 1}–${Math.min(lines.length, scroll + perPage)} of ${lines.length} · ↓ PgDn for more · Esc closes` : 'Esc closes';
  return (
    <Box flexDirection="column" width={w} height={h} borderStyle="round" borderColor="cyan">
      <Box flexDirection="row" height={inner}>
        {cols.map((col, i) => (
          <Box key={i} flexDirection="column" width={colW}>
            {col.map((l, j) => (
              <Text key={j} bold={l.head} color={l.head ? 'cyan' : undefined} wrap="truncate">
                {fit(l.text, colW - 1)}
              </Text>
            ))}
          </Box>
        ))}
      </Box>
      <Text color="gray" wrap="truncate">
        {fit(footer, w - 2)}
      </Text>
    </Box>
  );
}

/** A list picker overlay (output devices, presets). */
export function PickerOverlay({ state, title, items, index }: { state: AppState; title: string; items: string[]; index: number }) {
  const { layout } = state;
  const w = Math.min(layout.columns, 70);
  const h = Math.min(layout.mainHeight, items.length + 4);
  const visible = Math.max(1, h - 4);
  const scroll = Math.max(0, Math.min(index - Math.floor(visible / 2), items.length - visible));
  return (
    <Box flexDirection="column" width={w} height={h} borderStyle="round" borderColor="cyan">
      <Text bold color="cyan">
        {fit(title, w - 2)}
      </Text>
      <Text> </Text>
      {items.length === 0 ? <Text color="gray">{fit('(none)', w - 2)}</Text> : null}
      {items.slice(scroll, scroll + visible).map((it, k) => (
        <Text key={k} inverse={scroll + k === index} wrap="truncate">
          {fit(' ' + it, w - 2)}
        </Text>
      ))}
    </Box>
  );
}

/** A one-line text prompt overlay (file or preset name). */
export function PromptOverlay({ state, label, text }: { state: AppState; label: string; text: string }) {
  const w = Math.min(state.layout.columns, 76);
  return (
    <Box flexDirection="column" width={w} height={5} borderStyle="round" borderColor="cyan">
      <Text bold color="cyan">
        {fit(label, w - 2)}
      </Text>
      <Text> </Text>
      <Text wrap="truncate">
        {'> '}
        {fitLeft(text, w - 6)}
        <Text inverse> </Text>
      </Text>
    </Box>
  );
}

/** Shown instead of the panels when the terminal is smaller than the layout needs. */
export function TooSmall({ state }: { state: AppState }) {
  return (
    <Box flexDirection="column" height={state.layout.height}>
      <Text color="yellow">{fit(`terminal ${state.layout.columns}×${state.layout.rows} is too small`, state.layout.columns)}</Text>
      <Text>{fit('LTS needs at least 60×18 (80×24 recommended); enlarge the window. Ctrl-Q quits.', state.layout.columns)}</Text>
    </Box>
  );
}

/** True when nothing that every panel depends on (focus, overlay presence, layout) changed. */
function sameFrame(a: AppState, b: AppState): boolean {
  return a.focus === b.focus && (a.overlay === null) === (b.overlay === null) && a.layout === b.layout;
}

/** {@link DatasetPanel}, re-rendered only when the list, the slots or the frame change. */
export const DatasetPanelMemo = React.memo(
  DatasetPanel,
  (p, n) => sameFrame(p.state, n.state) && p.state.dataset === n.state.dataset && p.state.slots === n.state.slots,
);

/** {@link WaveformPanel}, re-rendered only when its slot, the duration, its waveform or the frame change. */
export const WaveformPanelMemo = React.memo(
  WaveformPanel,
  (p, n) =>
    p.id === n.id && p.wave === n.wave && sameFrame(p.state, n.state) && p.state.slots[p.id] === n.state.slots[n.id] && p.state.duration === n.state.duration,
);

/** {@link CurvePanel}, re-rendered only when the curve, the duration or the frame change. */
export const CurvePanelMemo = React.memo(
  CurvePanel,
  (p, n) => sameFrame(p.state, n.state) && p.state.curve === n.state.curve && p.state.duration === n.state.duration,
);
