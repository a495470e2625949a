/**
 * Remote-listening benchmark (issue 8, item 5), on loopback, in Debian's chromium (headless,
 * driven by playwright-core).
 *
 * `npm run bench -- listen [--renders 10] [--render-seconds 2] [--changes 12] [--json FILE]`
 *
 * 1. **Render finished → first sample playing in the page.** A render (a 2 s tone that is loud
 *    from its first sample) is written to the renders folder and `ListenServer.announceRender` is
 *    called at t0; the page receives the samples over the WebSocket, builds an AudioBuffer and
 *    starts it, and reports the output time of its first sample (`AudioContext.getOutputTimestamp`
 *    mapped to the epoch clock, which node and chromium share on one machine). Latency =
 *    outputAt − t0. Peer, in the same run, alternating trial by trial: the plain way a web page
 *    plays a file, an `<audio>` element loading the same WAV over HTTP from the same machine
 *    (told at t0 through the DevTools protocol, so it gets no notification delay at all), routed
 *    through `createMediaElementSource` into an AudioWorklet that reports the output time of the
 *    first sample above 0.25.
 * 2. **Live: control change → the page's output.** A producer writes 256-frame blocks (5.8 ms, like
 *    `LiveEngine.start`, awaiting each write) of silence; at a random moment a control change
 *    arrives (t0) and from the next block on it writes a loud tone for 0.15 s, then silence again.
 *    The page's worklet reports the output time of the first loud sample. Latency = outputAt −
 *    t0, with the server's defaults (lead 30 ms, page prebuffer 60 ms). Peer, the same blocks at
 *    the same moment: an endless 16-bit WAV over chunked HTTP into an `<audio>` element (the usual
 *    way to stream audio to a page without WebSockets), measured with the same detector.
 *    The engine's own latency (`LiveEngine.latencyEstimate().synthesis`: look-ahead frame plus
 *    one block) comes on top in real use and is the same for both.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium, type Page } from 'playwright-core';
import { ListenServer, type PageReport } from '../src/io/listen-server.ts';
import { writeWav } from '../src/io/wav.ts';
import { createRng } from '../src/dsp/rng.ts';
import { parseArgs, printTable, writeJson, median, machineInfo } from './util.ts';

const SR = 44100;
const BLOCK = 256;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The peer page's detector: an AudioWorklet that reports the first loud sample after quiet. */
const DETECTOR = `registerProcessor('det', class extends AudioWorkletProcessor {
  constructor() { super(); this.quiet = true; }
  process(inputs, outputs) {
    const x = inputs[0] && inputs[0][0];
    if (!x) return true;
    let peak = 0;
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]);
      if (this.quiet && a >= 0.25) { this.quiet = false; this.port.postMessage(currentFrame + i); }
      if (a > peak) peak = a;
    }
    if (peak < 0.01) this.quiet = true;
    return true;
  }
});`;

/** Installed into the peer page: an AudioContext, the detector, and helpers to play a URL. */
async function setupPeer(page: Page): Promise<void> {
  await page.evaluate(async (detector) => {
    const w = globalThis as unknown as Record<string, unknown> & { AudioContext: new (o: object) => any; Audio: new (u: string) => any };
    const ac = new w.AudioContext({ sampleRate: 44100, latencyHint: 'interactive' });
    const url = URL.createObjectURL(new Blob([detector], { type: 'text/javascript' }));
    await ac.audioWorklet.addModule(url);
    const det = new (globalThis as any).AudioWorkletNode(ac, 'det');
    det.connect(ac.destination);
    const onsets: number[] = [];
    det.port.onmessage = (e: { data: number }) => {
      const ts = ac.getOutputTimestamp();
      onsets.push(performance.timeOrigin + ts.performanceTime + (e.data / ac.sampleRate - ts.contextTime) * 1000);
    };
    await ac.resume();
    w.peer = {
      onsets,
      audio: null as any,
      play(src: string) {
        const p = w.peer as { audio: any };
        if (p.audio) p.audio.pause();
        const a = new w.Audio(src);
        ac.createMediaElementSource(a).connect(det);
        p.audio = a;
        void a.play();
      },
      stop() {
        const p = w.peer as { audio: any };
        if (p.audio) p.audio.pause();
        p.audio = null;
      },
    };
  }, DETECTOR);
}

const peerOnsets = (page: Page) => page.evaluate(() => ((globalThis as any).peer.onsets as number[]).slice());

/** A WAV header for an endless 16-bit mono stream (sizes at their maximum). */
function streamHeader(rate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(0xffffffff, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(0xffffffff, 40);
  return h;
}

function pcm16(x: Float32Array): Buffer {
  const b = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++) b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767))), i * 2);
  return b;
}

function stats(xs: number[]): { median: number; min: number; max: number; n: number } {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** Run the benchmark; see the module comment. */
export async function main(argv: string[]): Promise<void> {
  const { flags } = parseArgs(argv);
  const renders = Number(flags.renders ?? 10);
  const renderSeconds = Number(flags['render-seconds'] ?? 2);
  const changes = Number(flags.changes ?? 12);
  const dir = mkdtempSync(join(tmpdir(), 'lts-bench-listen-'));
  const server = await ListenServer.start({ port: 0, rendersDir: dir });
  const reports: PageReport[] = [];
  server.onReport((r) => reports.push(r));

  // The peer: a plain HTTP server for the WAV files and an endless WAV stream.
  const streams = new Set<ServerResponse>();
  const peer = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>peer</title>');
    } else if (url.startsWith('/file/')) {
      const body = readFileSync(join(dir, url.slice(6)));
      res.writeHead(200, { 'Content-Type': 'audio/wav', 'Content-Length': body.length });
      res.end(body);
    } else if (url === '/live.wav') {
      res.writeHead(200, { 'Content-Type': 'audio/wav', 'Cache-Control': 'no-store' });
      res.write(streamHeader(SR));
      streams.add(res);
      res.on('close', () => streams.delete(res));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const peerBase = `http://127.0.0.1:${(peer.address() as { port: number }).port}`;

  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'lts-bench-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const results: Record<string, unknown> = { machine: machineInfo(), loadavg: loadavg() };
  try {
    const ours = context.pages()[0] ?? (await context.newPage());
    const ready = server.waitForReport((r) => r.type === 'ready', { timeoutMs: 30_000 });
    await ours.goto(server.url);
    await ready;
    const peerPage = await context.newPage();
    await peerPage.goto(`${peerBase}/`);
    await setupPeer(peerPage);

    // 1. Render finished → first sample playing.
    const ourRender: number[] = [];
    const ourReceive: number[] = [];
    const peerRender: number[] = [];
    const rng = createRng(5);
    for (let i = 0; i < renders; i++) {
      const n = Math.round(renderSeconds * SR);
      const x = new Float32Array(n);
      const f = 200 + 400 * rng();
      for (let k = 0; k < n; k++) x[k] = 0.5 * Math.cos((2 * Math.PI * f * k) / SR);
      const name = `render-${String(i + 1).padStart(4, '0')}.wav`;
      const path = join(dir, name);
      writeWav(path, x, SR);
      const started = server.waitForReport((r) => r.type === 'started', { timeoutMs: 30_000 });
      const received = server.waitForReport((r) => r.type === 'received', { timeoutMs: 30_000 });
      const t0 = now();
      const id = server.announceRender({ path, samples: x, sampleRate: SR });
      const st = await started;
      const rec = await received;
      if (st.type === 'started' && st.id === id) ourRender.push(st.outputAt - t0);
      if (rec.type === 'received') ourReceive.push(rec.receivedAt - t0);
      await sleep(200);
      server.stop();
      await sleep(200);

      const before = (await peerOnsets(peerPage)).length;
      const t1 = now();
      await peerPage.evaluate((u) => (globalThis as any).peer.play(u), `${peerBase}/file/${name}`);
      const deadline = performance.now() + 20_000;
      let onsets = await peerOnsets(peerPage);
      while (onsets.length === before && performance.now() < deadline) {
        await sleep(5);
        onsets = await peerOnsets(peerPage);
      }
      if (onsets.length > before) peerRender.push(onsets[before] - t1);
      await sleep(200);
      await peerPage.evaluate(() => (globalThis as any).peer.stop());
      await sleep(200);
    }

    // 2. Live: control change → output, ours and the HTTP stream peer from the same producer.
    await peerPage.evaluate((u) => (globalThis as any).peer.play(u), `${peerBase}/live.wav`);
    const live = server.openLiveStream(SR);
    const changesAt: number[] = [];
    let pending: number | null = null;
    let loudLeft = 0;
    let phase = 0;
    let stopAt = Infinity;
    const onsetBase = (await peerOnsets(peerPage)).length;
    const producer = (async () => {
      while (performance.now() < stopAt) {
        const x = new Float32Array(BLOCK);
        if (pending !== null && loudLeft === 0) {
          changesAt.push(pending);
          pending = null;
          loudLeft = Math.round(0.15 * SR);
        }
        if (loudLeft > 0) {
          const k = Math.min(BLOCK, loudLeft);
          for (let i = 0; i < k; i++) x[i] = 0.6 * Math.sin(phase++ * ((2 * Math.PI * 440) / SR));
          loudLeft -= k;
        }
        const bytes = pcm16(x);
        for (const s of streams) s.write(bytes);
        await live.write(x);
      }
    })();
    // Let both pages fill their buffers, then change the control at random moments 0.6-0.9 s apart.
    await sleep(3000);
    for (let i = 0; i < changes; i++) {
      await sleep(600 + 300 * rng());
      pending = now();
    }
    await sleep(4000);
    stopAt = performance.now();
    await producer;
    live.close();
    const ourOnsets = reports.filter((r): r is Extract<PageReport, { type: 'onset' }> => r.type === 'onset' && r.id === live.id);
    const peerLive = (await peerOnsets(peerPage)).slice(onsetBase);
    // Each change makes exactly one quiet → loud onset in each page, in order.
    const pair = (onsets: number[]) => onsets.slice(0, changesAt.length).map((t, i) => t - changesAt[i]);
    const ourLive = pair(ourOnsets.map((o) => o.outputAt));
    const peerLat = pair(peerLive);
    if (ourOnsets.length !== changesAt.length || peerLive.length !== changesAt.length) {
      console.log(`warning: ${changesAt.length} control changes, ${ourOnsets.length} onsets in the page, ${peerLive.length} in the peer`);
    }
    const finals = reports.filter((r) => r.type === 'live' && r.id === live.id);
    const lastLive = finals[finals.length - 1];

    const rRender = stats(ourRender);
    const pRender = stats(peerRender);
    const rLive = stats(ourLive);
    const pLive = stats(peerLat);
    const rows = [
      { measure: 'render finished → first sample playing', method: 'lts --listen (WebSocket + AudioBuffer)', 'median ms': rRender.median, 'min ms': rRender.min, 'max ms': rRender.max, n: String(rRender.n), 'ratio to peer': rRender.median / pRender.median },
      { measure: '', method: 'peer: <audio> loads the WAV over HTTP', 'median ms': pRender.median, 'min ms': pRender.min, 'max ms': pRender.max, n: String(pRender.n), 'ratio to peer': 1 },
      { measure: '(of which: samples received and decoded)', method: 'lts --listen', 'median ms': stats(ourReceive).median, 'min ms': stats(ourReceive).min, 'max ms': stats(ourReceive).max, n: String(ourReceive.length) },
      { measure: 'live: control change → page output', method: 'lts --listen (WebSocket PCM + AudioWorklet)', 'median ms': rLive.median, 'min ms': rLive.min, 'max ms': rLive.max, n: String(rLive.n), 'ratio to peer': rLive.median / pLive.median },
      { measure: '', method: 'peer: endless WAV over chunked HTTP in <audio>', 'median ms': pLive.median, 'min ms': pLive.min, 'max ms': pLive.max, n: String(pLive.n), 'ratio to peer': 1 },
    ];
    printTable(rows, `Remote listening on loopback (${renderSeconds} s renders, 256-frame live blocks, server defaults)`);
    if (lastLive && lastLive.type === 'live') {
      console.log(`\nlive stream in the page: ${(lastLive.received / SR).toFixed(1)} s received, underruns ${lastLive.underruns}, gaps ${lastLive.gaps}, dropped ${lastLive.dropped}`);
    }
    console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(', ')}`);
    Object.assign(results, { rows, ourRender, peerRender, ourReceive, ourLive, peerLive: peerLat, liveStats: lastLive ?? null });
  } finally {
    await context.close();
    await server.close();
    for (const s of streams) s.destroy();
    peer.close();
  }
  if (typeof flags.json === 'string') writeJson(flags.json, results);
}
