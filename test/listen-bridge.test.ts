/**
 * `--listen` wired to the real instrument pieces, heard by a real page (Debian's chromium):
 * renders of a tiny trained model through {@link listenRenderer} and played, stopped and
 * auditioned through {@link listenAudioOutput} the way the TUI and `lts osc` do; `lts render
 * --listen` as a user runs it (the page plays the render, then the command exits); and live
 * mode, `LiveEngine.start(listenAudioOutput(...))`, streaming to the page without gaps while
 * the page's knob follows the control.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { ListenServer, type PageReport } from '../src/io/listen-server.ts';
import { listenAudioOutput, listenRenderer, followLiveEngine } from '../src/io/listen-bridge.ts';
import { Renderer, defaultPhaseSettings } from '../src/engine/render.ts';
import { LiveEngine, encodeExcerpt } from '../src/engine/live.ts';
import { loadModelFolder } from '../src/engine/model-folder.ts';
import { parseWav } from '../src/io/wav.ts';
import type { RenderParams } from '../src/engine/render-types.ts';
import { makeTinyModel, tone, SR, type TinyModel } from './helpers/tiny-model.ts';
import { launchChromium } from './listen-chromium.ts';

const LTS = fileURLToPath(new URL('../bin/lts.js', import.meta.url));
const WAIT = { timeoutMs: 60_000 };

let fx: TinyModel;
let rendersDir: string;
let server: ListenServer;
let context: BrowserContext;
let page: Page;

function sums(x: Float32Array): { sum: number; sumSquares: number } {
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i];
    sumSquares += x[i] * x[i];
  }
  return { sum, sumSquares };
}

interface PageView {
  ltsListen: { current: { name: string; buffer: { getChannelData(c: number): Float32Array } } | null };
  document: { getElementById(id: string): { textContent: string | null } | null };
}

before(async () => {
  fx = await makeTinyModel();
  rendersDir = join(fx.dir, 'renders');
  mkdirSync(rendersDir);
  server = await ListenServer.start({ port: 0, rendersDir, prebufferMs: 250, maxBufferMs: 1500, leadMs: 60 });
  context = await launchChromium();
  page = context.pages()[0] ?? (await context.newPage());
  const ready = server.waitForReport((r) => r.type === 'ready', WAIT);
  await page.goto(server.url);
  await ready;
});

after(async () => {
  await context?.close();
  await server?.close();
});

test('renders are announced, played, stopped and auditioned in the page the way the TUI drives them', async () => {
  const renderer = await Renderer.create({ backend: 'auto' });
  try {
    const wrapped = listenRenderer(server, renderer);
    const out = listenAudioOutput(server, null);
    assert.deepEqual(await out.status(), { available: true, devices: [] }, 'without a device the page is the output');
    const params: RenderParams = {
      model: fx.modelDir,
      a: { path: fx.fileA, start: 0.25 },
      b: { path: fx.fileB, start: 0.5 },
      duration: 0.8,
      curve: '0:1,1:0',
      phase: defaultPhaseSettings('fgla', 2),
      normalizeDbfs: null,
      sample: false,
      seed: 1,
      fadeMs: 10,
    };
    const received = server.waitForReport((r) => r.type === 'received', WAIT);
    const outcome = await wrapped.render(params, { dir: rendersDir });
    const rec = await received;
    const id = server.renderList[0].id;
    assert.equal(server.renderList[0].name, 'render-0001.wav');
    const want = sums(outcome.samples);
    assert.ok(rec.type === 'received' && rec.id === id && rec.length === outcome.samples.length && rec.sampleRate === SR);
    assert.equal(rec.sum, want.sum);
    assert.equal(rec.sumSquares, want.sumSquares);

    // The program plays its outcome: the page starts the announced render (same id, no new transfer).
    const started = server.waitForReport((r) => r.type === 'started', WAIT);
    const h = await out.play(outcome.samples, outcome.sampleRate);
    assert.ok(h.available);
    assert.equal(h.duration, outcome.samples.length / SR);
    const st = await started;
    assert.equal(st.type === 'started' && st.id, id);
    const ended = server.waitForReport((r) => r.type === 'ended' && r.id === id, WAIT);
    h.stop();
    const en = await ended;
    assert.ok(en.type === 'ended' && en.stopped);
    assert.deepEqual(await h.done, { status: 'stopped' });

    // An audition (not a render) is sent as a clip with its own id.
    const clip = tone(330, 0.3, 4, 9);
    const clipReceived = server.waitForReport((r) => r.type === 'received' && r.id !== id, WAIT);
    const clipStarted = server.waitForReport((r) => r.type === 'started' && r.id !== id, WAIT);
    const h2 = await out.play(clip, SR);
    assert.ok(h2.available);
    const cr = await clipReceived;
    assert.ok(cr.type === 'received');
    assert.equal(cr.length, clip.length);
    assert.equal(cr.sum, sums(clip).sum);
    await clipStarted;
    assert.deepEqual(await h2.done, { status: 'finished' });
    await page.waitForSelector('#renders a[download="render-0001.wav"]');
  } finally {
    renderer.dispose();
  }
});

test('lts render --listen: the page plays the render, then the command exits', async () => {
  const outPath = join(fx.dir, 'listened.wav');
  const child = spawn(
    process.execPath,
    [LTS, 'render', '--model', fx.modelDir, '--a', fx.fileA, '--b', `${fx.fileB}@0.5`, '--duration', '0.6', '--iters', '2', '--float', '--out', outPath, '--listen', '0'],
    { cwd: fx.dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const p2 = await context.newPage();
  try {
    const url = await new Promise<string>((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`no URL printed; stderr: ${stderr}`)), 60_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listen: open (http:\/\/localhost:\d+\/\?token=[A-Za-z0-9_-]+) in a browser\n.*ssh -L \d+:localhost:\d+ /.exec(stderr);
        if (m) {
          clearTimeout(t);
          ok(m[1]);
        }
      });
      child.once('exit', () => fail(new Error(`lts render exited early: ${stderr}`)));
    });
    await p2.goto(url);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 90_000)))]);
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim(), outPath);
    assert.match(stderr, /waiting until it has played/);
    // What the page decoded is exactly the float WAV the command wrote.
    const wav = parseWav(new Uint8Array(readFileSync(outPath)), outPath);
    const inPage = await p2.evaluate(() => {
      const w = globalThis as unknown as PageView;
      const cur = w.ltsListen.current!;
      const d = cur.buffer.getChannelData(0);
      let sum = 0;
      let sumSquares = 0;
      for (let i = 0; i < d.length; i++) {
        sum += d[i];
        sumSquares += d[i] * d[i];
      }
      return { name: cur.name, length: d.length, sum, sumSquares, a: w.document.getElementById('exA')?.textContent ?? '' };
    });
    assert.equal(inPage.name, 'listened.wav');
    assert.equal(inPage.length, wav.channels[0].length);
    const want = sums(wav.channels[0]);
    assert.equal(inPage.sum, want.sum);
    assert.equal(inPage.sumSquares, want.sumSquares);
    assert.match(inPage.a, /low\.wav · 0\.00 s – 0\.60 s/);
  } finally {
    child.kill();
    await p2.close();
  }
});

test('live mode streams through listenAudioOutput without gaps, and the knob follows the control', async (t) => {
  const model = await loadModelFolder(fx.modelDir);
  try {
    const A = await encodeExcerpt(model, fx.fileA, 0.5, 1, 'excerpt A');
    const B = await encodeExcerpt(model, fx.fileB, 0.5, 1, 'excerpt B');
    const out = listenAudioOutput(server, null);

    // A constant control: the stream must equal what the engine gives when pulled directly.
    const engine = new LiveEngine(model, A, B, { amount: 0.3, loop: true });
    const final = server.waitForReport((r): r is Extract<PageReport, { type: 'live' }> => r.type === 'live' && r.final, WAIT);
    const stopFollowing = followLiveEngine(server, engine, { source: 'lts live', a: { file: 'low.wav', start: 0.5 }, b: { file: 'high.wav', start: 0.5 }, duration: 1 });
    const st = await engine.start(out);
    assert.ok(st.available);
    await page.waitForFunction(() => (globalThis as unknown as PageView).document.getElementById('knobValue')?.textContent === '0.300', null, { timeout: 30_000 });
    while (engine.samplesOut < 1.5 * SR) await new Promise((r) => setTimeout(r, 50));
    await engine.stop();
    stopFollowing();
    const f = await final;
    assert.equal(f.received, engine.samplesOut);
    assert.equal(f.gaps, 0);
    // Whether the page's buffer ever ran dry is a matter of scheduling on this shared machine, not of
    // correctness (every sample still arrives, in order, and is checked below); bench/listen.ts measures it.
    assert.equal(f.played + f.dropped, f.received, 'played, or skipped to undo a burst (see listen-browser.test.ts)');
    // Skipping is the page's answer to a burst after the sender stalled (listen-browser.test.ts tests it); how much
    // it skips depends on how long this process was held back, which the shared machine decides (seen: 3424 of
    // ~24000 samples with the whole suite running, none when the file ran alone three times). Reported, not judged.
    if (f.dropped > f.received / 10) t.diagnostic(`the page skipped ${f.dropped} of ${f.received} samples after a burst (underruns: ${f.underruns})`);
    const again = new LiveEngine(model, A, B, { amount: 0.3, loop: true }).pull(engine.samplesOut);
    const want = sums(again);
    assert.equal(f.sum, want.sum);
    assert.equal(f.sumSquares, want.sumSquares);
    await engine.dispose();

    // A control change shows on the page's knob while it streams.
    const e2 = new LiveEngine(model, A, B, { amount: 0.1, loop: true });
    const stop2 = followLiveEngine(server, e2);
    await e2.start(out);
    e2.setAmount(0.8);
    await page.waitForFunction(() => (globalThis as unknown as PageView).document.getElementById('knobValue')?.textContent === '0.800', null, { timeout: 30_000 });
    await e2.stop();
    stop2();
    await e2.dispose();
  } finally {
    model.vae.dispose();
  }
});
