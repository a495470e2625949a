/**
 * `npm run bench -- tui [--model DIR] [--dataset DIR] [--presses N] [--size 80x24] [--json FILE]`
 *
 * Responsiveness of the real instrument in a real terminal (tmux), measured
 * from outside the way a player feels it:
 *
 * - **start to first screen**: from launching `lts` until capture-pane shows
 *   the status line; then until the dataset is listed, and until the model is
 *   loaded in the render worker (status line shows its name).
 * - **key to redraw**: `send-keys`, then capture-pane polled every ~2 ms until
 *   the screen changes, for keys of every panel (list move, selection move,
 *   curve value, curve cursor). The app's own probe (`LTS_TUI_TRACE`: key
 *   arrival to Ink's next frame) is reported beside it.
 *
 * Peers measured in the same run, same tmux, same polling: a minimal Ink app
 * (one counter line, redrawn on every key) for key latency, and `node
 * --import tsx` printing one line for start-up, so the figures can be read as
 * ratios on a loaded machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs, printTable, writeJson, median, machineInfo } from './util.ts';
import { DEFAULT_MODEL_DIR, DEMO_DATASET_DIR } from '../src/paths.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOCKET = `lts-bench-${process.pid}`;

function tmux(...args: string[]): string {
  try {
    return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // A tmux server that has just been started can report "server exited unexpectedly" once; try again.
    if (args[0] !== 'new-session') throw e;
    return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}
function capture(session: string): string {
  try {
    return tmux('capture-pane', '-p', '-t', session);
  } catch {
    return '';
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll the screen until `ok`; returns the elapsed milliseconds since `t0`. */
async function waitScreen(session: string, t0: number, ok: (s: string) => boolean, timeoutMs: number, what: string): Promise<number> {
  for (;;) {
    const s = capture(session);
    const t = performance.now() - t0;
    if (ok(s)) return t;
    if (t > timeoutMs) throw new Error(`bench tui: timed out waiting for ${what}; screen:\n${s}`);
    await sleep(2);
  }
}

/** Press `key` and measure until the screen differs from before (ms). */
async function keyLatency(session: string, key: string): Promise<number> {
  const before = capture(session);
  const t0 = performance.now();
  tmux('send-keys', '-t', session, key);
  return waitScreen(session, t0, (s) => s !== before && s !== '', 5000, `a redraw after ${key}`);
}

function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.95 * s.length))];
}

/** Key latencies of the app's own probe: each key to the first frame after it. */
function traceLatencies(path: string): number[] {
  if (!existsSync(path)) return [];
  const ev = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([kind, t]) => ({ kind, t: Number(t) }));
  const out: number[] = [];
  for (let i = 0; i < ev.length; i++) {
    if (ev[i].kind !== 'key') continue;
    const f = ev.slice(i + 1).find((e) => e.kind === 'frame');
    if (f) out.push(f.t - ev[i].t);
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const model = String(flags.model ?? DEFAULT_MODEL_DIR);
  const dataset = String(flags.dataset ?? DEMO_DATASET_DIR);
  const presses = Number(flags.presses ?? 20);
  const [cols, rows] = String(flags.size ?? '80x24').split('x').map(Number);
  if (!existsSync(join(model, 'config.json'))) {
    console.error(`bench tui: no model at ${model}; train one (lts train) or pass --model DIR`);
    process.exitCode = 2;
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'lts-bench-tui-'));
  const trace = join(tmp, 'trace.log');
  const rowsOut: Record<string, unknown>[] = [];
  try {
    // Peer 1: node + tsx printing one line (the floor of any start-up).
    const peerStart: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = `peer${i}`;
      const t0 = performance.now();
      tmux('new-session', '-d', '-s', s, '-x', String(cols), '-y', String(rows), `${process.execPath} --import tsx -e "console.log('READY')"; sleep 30`);
      peerStart.push(await waitScreen(s, t0, (x) => x.includes('READY'), 30000, 'the peer line'));
      tmux('kill-session', '-t', s);
    }

    // The app: start-up (3 runs with a fresh state folder each).
    const firstScreen: number[] = [];
    const listed: number[] = [];
    const modelReady: number[] = [];
    const modelName = model.replace(/\/+$/, '').split('/').pop() ?? '';
    for (let i = 0; i < 3; i++) {
      const s = `app${i}`;
      const state = join(tmp, `state${i}`);
      const cmd = `cd ${ROOT} && env -u CI -u CONTINUOUS_INTEGRATION LTS_STATE_DIR=${state} ALSA_CONFIG_PATH=${join(tmp, 'none.conf')} ${i === 2 ? `LTS_TUI_TRACE=${trace}` : ''} ${process.execPath} --single-threaded-gc bin/lts.js --dataset ${dataset} --model ${model}; sleep 30`;
      const t0 = performance.now();
      tmux('new-session', '-d', '-s', s, '-x', String(cols), '-y', String(rows), cmd);
      firstScreen.push(await waitScreen(s, t0, (x) => x.includes(' LTS │'), 60000, 'the first screen'));
      listed.push(await waitScreen(s, t0, (x) => /Dataset [1-9]/.test(x), 60000, 'the dataset list'));
      modelReady.push(await waitScreen(s, t0, (x) => x.includes(`${modelName} · `), 120000, 'the model'));
      if (i < 2) tmux('kill-session', '-t', s);
    }

    // Key to redraw, on the last app: list moves, then a slot, selection moves, curve edits.
    const s = 'app2';
    await sleep(1500); // let the audio child and first waveform decode settle
    writeFileSync(trace, '');
    const measure = async (label: string, keys: string[]) => {
      const lat: number[] = [];
      for (let i = 0; i < presses; i++) {
        lat.push(await keyLatency(s, keys[i % keys.length]));
        await sleep(30);
      }
      rowsOut.push({ measure: `key → redraw: ${label}`, median_ms: median(lat), p95_ms: p95(lat), n: lat.length });
    };
    await measure('dataset list ↓/↑', ['Down', 'Up']);
    tmux('send-keys', '-t', s, 'Left');
    await waitScreen(s, performance.now(), (x) => !x.includes('A  (empty)'), 10000, 'slot A');
    await sleep(500);
    tmux('send-keys', '-t', s, 'Tab');
    await sleep(200);
    await measure('waveform selection →/←', ['Right', 'Left']);
    tmux('send-keys', '-t', s, 'Tab', 'Tab');
    await sleep(200);
    await measure('curve value ↑/↓', ['Up', 'Down']);
    await measure('curve cursor →/←', ['Right', 'Left']);
    const probe = traceLatencies(trace);
    tmux('send-keys', '-t', s, 'C-q');

    // Peer 2: a minimal Ink app redrawing a counter on every key.
    const peerFile = join(tmp, 'peer-ink.mjs');
    const inkUrl = pathToFileURL(join(ROOT, 'node_modules', 'ink', 'build', 'index.js')).href;
    const reactUrl = pathToFileURL(join(ROOT, 'node_modules', 'react', 'index.js')).href;
    writeFileSync(
      peerFile,
      `import React from '${reactUrl}';
import { render, Text, useInput } from '${inkUrl}';
function Peer() { const [n, setN] = React.useState(0); useInput(() => setN((x) => x + 1)); return React.createElement(Text, null, 'presses ' + n); }
render(React.createElement(Peer), { exitOnCtrlC: true, maxFps: 60, incrementalRendering: true });
`,
    );
    tmux('new-session', '-d', '-s', 'peerink', '-x', String(cols), '-y', String(rows), `env -u CI ${process.execPath} ${peerFile}; sleep 30`);
    await waitScreen('peerink', performance.now(), (x) => x.includes('presses 0'), 30000, 'the peer Ink app');
    const peerLat: number[] = [];
    for (let i = 0; i < presses; i++) {
      peerLat.push(await keyLatency('peerink', i % 2 ? 'Up' : 'Down'));
      await sleep(30);
    }

    const keyRows = rowsOut.splice(0);
    const startRows: Record<string, unknown>[] = [
      { measure: 'start → first screen', median_ms: median(firstScreen), p95_ms: Math.max(...firstScreen), n: firstScreen.length },
      { measure: 'start → dataset listed', median_ms: median(listed), p95_ms: Math.max(...listed), n: listed.length },
      { measure: 'start → model loaded (worker)', median_ms: median(modelReady), p95_ms: Math.max(...modelReady), n: modelReady.length },
      { measure: 'peer: node+tsx prints a line', median_ms: median(peerStart), p95_ms: Math.max(...peerStart), n: peerStart.length },
    ];
    const peerRow = { measure: 'peer: minimal Ink counter, key → redraw', median_ms: median(peerLat), p95_ms: p95(peerLat), n: peerLat.length };
    const probeRow = { measure: 'in-app probe: key → Ink frame (all keys above)', median_ms: median(probe), p95_ms: p95(probe), n: probe.length };
    const all = [...startRows, ...keyRows, probeRow, peerRow];
    for (const r of keyRows) r.vs_peer = Number(((r.median_ms as number) / peerRow.median_ms).toFixed(2));
    startRows[0].vs_peer = Number((median(firstScreen) / median(peerStart)).toFixed(2));
    printTable(all, `Terminal UI responsiveness (${cols}x${rows}, tmux capture-pane polling, model ${modelName})`);
    if (typeof flags.json === 'string') writeJson(flags.json, { machine: machineInfo(), size: `${cols}x${rows}`, model, dataset, rows: all });
  } finally {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    rmSync(tmp, { recursive: true, force: true });
  }
}
