/**
 * The listen server without a browser: what it refuses (no token, wrong token, another origin,
 * another Host, `..` paths, files outside the renders folder, other methods), what it serves,
 * the WebSocket protocol (hello, render frames, live frames with contiguous indices), report
 * checking, pacing of the live stream, and start-up errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, symlinkSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { ListenServer, MAX_CURVE_POINTS, type PageReport } from '../src/io/listen-server.ts';
import { isUserError } from '../src/io/errors.ts';

let dir: string;
let outside: string;
let server: ListenServer;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw HTTP request (the path is sent exactly as given, no normalisation). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers: { Host: `localhost:${server.port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

const tok = () => `token=${server.token}`;

/** Open a WebSocket; resolves with the socket once open, or with the HTTP status of a refused upgrade. */
function openWs(query: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number; first: Promise<unknown> }> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, { headers: { Host: `localhost:${server.port}`, ...headers } });
    const first = new Promise<unknown>((r) => ws.once('message', (d, bin) => r(bin ? d : JSON.parse(d.toString()))));
    ws.once('open', () => ok({ ws, first }));
    ws.once('unexpected-response', (_req, res) => {
      ok({ status: res.statusCode, first });
      res.resume();
    });
    ws.once('error', (e) => fail(e));
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lts-listen-srv-'));
  outside = mkdtempSync(join(tmpdir(), 'lts-listen-outside-'));
  writeFileSync(join(outside, 'secret.wav'), 'not for the page');
  writeFileSync(join(dir, 'render-0003.wav'), Buffer.from('RIFF....WAVEfmt fake bytes'));
  writeFileSync(join(dir, 'notes.txt'), 'plain text');
  symlinkSync(join(outside, 'secret.wav'), join(dir, 'escape.wav'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'inner.wav'), 'in a subfolder');
  server = await ListenServer.start({ port: 0, rendersDir: dir });
});

after(async () => {
  await server.close();
});

test('the URL carries a long random token and points at localhost', () => {
  const u = new URL(server.url);
  assert.equal(u.hostname, 'localhost');
  assert.equal(Number(u.port), server.port);
  assert.equal(u.searchParams.get('token'), server.token);
  assert.match(server.token, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(server.warning, null);
});

test('every request needs the token: none or a wrong one is 403', async () => {
  for (const path of ['/', '/app.js', '/worklet.js', '/style.css', '/renders/render-0003.wav']) {
    assert.equal((await get(path)).status, 403, path);
    const wrong = server.token.slice(0, -1) + (server.token.endsWith('A') ? 'B' : 'A');
    assert.equal((await get(`${path}?token=${wrong}`)).status, 403, `${path} with a wrong token`);
    assert.equal((await get(`${path}?token=${server.token}x`)).status, 403, `${path} with a longer token`);
  }
  const ok = await get(`/?${tok()}`);
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-type']), /text\/html/);
  assert.ok(ok.body.toString().includes(`app.js?token=${server.token}`), 'the page loads its script with the token');
  assert.match(String(ok.headers['content-security-policy']), /default-src 'none'/);
  assert.equal(ok.headers['x-content-type-options'], 'nosniff');
  assert.equal(ok.headers['referrer-policy'], 'no-referrer');
  assert.equal(ok.headers['cache-control'], 'no-store');
});

test('cross-origin and cross-site requests and foreign Host names are refused even with the token', async () => {
  assert.equal((await get(`/?${tok()}`, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await get(`/?${tok()}`, { Origin: `http://127.0.0.1:${server.port + 1}` })).status, 403);
  assert.equal((await get(`/?${tok()}`, { 'Sec-Fetch-Site': 'cross-site' })).status, 403);
  assert.equal((await get(`/?${tok()}`, { 'Sec-Fetch-Site': 'same-site' })).status, 403);
  assert.equal((await get(`/?${tok()}`, { Host: `evil.example:${server.port}` })).status, 403, 'DNS rebinding');
  assert.equal((await get(`/?${tok()}`, { Origin: `http://localhost:${server.port}`, 'Sec-Fetch-Site': 'same-origin' })).status, 200);
  assert.equal((await get(`/?${tok()}`, { Host: `127.0.0.1:${server.port}`, 'Sec-Fetch-Site': 'none' })).status, 200);
  // Through ssh -L the laptop's port may differ: the Host port is not checked, the name is.
  assert.equal((await get(`/?${tok()}`, { Host: 'localhost:9999', Origin: 'http://localhost:9999' })).status, 200);
});

test('only files directly inside the renders folder are served; .. and escapes are refused', async () => {
  const wav = await get(`/renders/render-0003.wav?${tok()}`);
  assert.equal(wav.status, 200);
  assert.deepEqual(wav.body, readFileSync(join(dir, 'render-0003.wav')));
  assert.equal(wav.headers['content-type'], 'audio/wav');
  assert.match(String(wav.headers['content-disposition']), /^attachment; filename="render-0003.wav"$/);
  for (const path of ['/renders/../etc/passwd', '/renders/%2e%2e/secret.wav', '/renders/..%2fsecret.wav', '/..', '/renders/a\\b.wav', '/renders//etc/passwd']) {
    assert.equal((await get(`${path}?${tok()}`)).status, 403, path);
  }
  assert.equal((await get(`/renders/escape.wav?${tok()}`)).status, 403, 'a symlink out of the folder');
  assert.equal((await get(`/renders/?${tok()}`)).status, 404, 'no directory listing');
  assert.equal((await get(`/renders/notes.txt?${tok()}`)).status, 404, 'only .wav and .json');
  assert.equal((await get(`/renders/sub%2Finner.wav?${tok()}`)).status, 404, 'no subfolders');
  assert.equal((await get(`/renders/missing.wav?${tok()}`)).status, 404);
  assert.equal((await get(`/package.json?${tok()}`)).status, 404);
  assert.equal((await get(`/listen-server.ts?${tok()}`)).status, 404);
  const post = await get(`/?${tok()}`, {}, 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  const head = await get(`/renders/render-0003.wav?${tok()}`, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test('the WebSocket needs the token and the page origin', async () => {
  assert.equal((await openWs('')).status, 403);
  assert.equal((await openWs('?token=wrong-token-0123456789')).status, 403);
  assert.equal((await openWs(`?${tok()}`, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await openWs(`?${tok()}`, { Host: `evil.example:${server.port}` })).status, 403);
  const ok = await openWs(`?${tok()}`, { Origin: `http://localhost:${server.port}` });
  assert.ok(ok.ws, 'same-origin upgrade with the token opens');
  const hello = (await ok.first) as { type: string; renders: { name: string }[] };
  assert.equal(hello.type, 'hello');
  assert.deepEqual(hello.renders.map((r) => r.name), ['render-0003.wav'], "the folder's WAV files, without the escaping link");
  ok.ws!.close();
});

test('state, renders and live PCM reach a connected client; reports are checked', async () => {
  const { ws, first } = await openWs(`?${tok()}`);
  await first;
  const texts: Record<string, unknown>[] = [];
  const frames: Buffer[] = [];
  ws!.on('message', (d, bin) => (bin ? frames.push(d as Buffer) : texts.push(JSON.parse(d.toString()))));
  const got = (pred: () => boolean) =>
    new Promise<void>((ok) => {
      const t = setInterval(() => {
        if (pred()) {
          clearInterval(t);
          ok();
        }
      }, 5);
    });

  const curve = Array.from({ length: 3000 }, (_, i) => Math.sin(i / 300));
  server.publishState({ source: 'test', curve, knob: { label: 'a', value: 0.25 } });
  server.publishState({ source: 'test', curve, knob: { label: 'a', value: 0.25 } });
  await got(() => texts.some((t) => t.type === 'state'));
  const state = texts.find((t) => t.type === 'state')!.state as { curve: number[] };
  assert.equal(state.curve.length, MAX_CURVE_POINTS);
  assert.equal(state.curve[0], curve[0]);
  assert.ok(Math.abs(state.curve[MAX_CURVE_POINTS - 1] - curve[2999]) < 1e-12);

  const samples = new Float32Array([0.5, -0.25, 0.125, 1]);
  writeFileSync(join(dir, 'render-0004.wav'), 'x');
  const id = server.announceRender({ path: join(dir, 'render-0004.wav'), samples, sampleRate: 8000 });
  await got(() => frames.length === 1);
  const header = texts.find((t) => t.type === 'render')!;
  assert.equal(header.id, id);
  assert.equal(header.url, '/renders/render-0004.wav');
  assert.equal(header.play, true);
  assert.equal(frames[0].readUInt32LE(0), 1);
  assert.equal(frames[0].readUInt32LE(4), id);
  assert.deepEqual(new Float32Array(new Uint8Array(frames[0].subarray(16)).buffer), samples);
  // A render outside the folder is played but has no download link.
  server.announceRender({ path: join(outside, 'secret.wav'), samples, sampleRate: 8000 });
  await got(() => frames.length === 2);
  assert.equal(texts.filter((t) => t.type === 'render')[1].url, null);
  assert.equal(server.renderList[0].url, null);

  const live = server.openLiveStream(8000);
  const blocks = [new Float32Array(100).fill(0.1), new Float32Array(37).fill(-0.2), new Float32Array(250).fill(0.3)];
  for (const b of blocks) await live.write(b);
  live.close();
  await live.write(new Float32Array(10));
  await got(() => texts.some((t) => t.type === 'live-close'));
  await got(() => frames.length === 5);
  const liveFrames = frames.slice(2);
  let next = 0;
  for (let i = 0; i < liveFrames.length; i++) {
    assert.equal(liveFrames[i].readUInt32LE(0), 2);
    assert.equal(liveFrames[i].readUInt32LE(4), live.id);
    assert.equal(liveFrames[i].readDoubleLE(8), next, 'contiguous stream indices');
    const x = new Float32Array(new Uint8Array(liveFrames[i].subarray(16)).buffer);
    assert.deepEqual(x, blocks[i]);
    next += x.length;
  }
  assert.equal(live.written, 387);

  const seen: PageReport[] = [];
  const off = server.onReport((r) => seen.push(r));
  ws!.send('not json');
  ws!.send(JSON.stringify({ type: 'received', id: 'one' }));
  ws!.send(JSON.stringify({ type: 'launch-missiles' }));
  ws!.send(JSON.stringify({ type: 'received', id, length: 4, sampleRate: 8000, sum: 1.375, sumSquares: 1.328125, receivedAt: 5 }));
  const r = await server.waitForReport((x) => x.type === 'received', { timeoutMs: 10_000 });
  off();
  assert.deepEqual(seen, [r]);
  assert.equal(r.type === 'received' && r.sum, 1.375);
  ws!.close();
});

test('the live stream is paced by the wall clock', async () => {
  const live = server.openLiveStream(16000);
  const t0 = performance.now();
  for (let i = 0; i < 40; i++) await live.write(new Float32Array(200)); // 0.5 s of audio
  const elapsed = performance.now() - t0;
  live.close();
  // At most leadMs (30 ms) ahead of real time: writing 0.5 s cannot finish sooner than 0.47 s.
  assert.ok(elapsed >= 460, `0.5 s of audio written in ${elapsed.toFixed(0)} ms`);
});

test('start-up errors are one-line UserErrors', async () => {
  const busy = server.port;
  await assert.rejects(ListenServer.start({ port: busy, rendersDir: dir }), (e: unknown) => isUserError(e) && /port in use/.test((e as Error).message));
  await assert.rejects(ListenServer.start({ port: 70000, rendersDir: dir }), (e: unknown) => isUserError(e) && /not a TCP port/.test((e as Error).message));
  await assert.rejects(ListenServer.start({ port: 0, rendersDir: join(dir, 'nope') }), (e: unknown) => isUserError(e) && /does not exist/.test((e as Error).message));
  await assert.rejects(ListenServer.start({ port: 0, rendersDir: dir, token: 'short' }), (e: unknown) => isUserError(e) && /token/.test((e as Error).message));
  const open = await ListenServer.start({ port: 0, host: '0.0.0.0', rendersDir: dir });
  try {
    assert.match(open.warning ?? '', /reachable from the network/);
  } finally {
    await open.close();
  }
  assert.throws(() => server.openLiveStream(10), (e: unknown) => isUserError(e));
});

test('closing the server releases live writes still waiting for the wall clock: no timer outlives them', async () => {
  const s = await ListenServer.start({ port: 0, rendersDir: dir });
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const live = s.openLiveStream(8000);
  // Blocks handed over much faster than real time (as a producer ahead of the clock does), not awaited.
  const writes = Array.from({ length: 40 }, () => live.write(new Float32Array(8000)));
  await new Promise((r) => setImmediate(r));
  assert.ok(timers() > before, 'writes ahead of the clock wait on timers');
  await s.close();
  assert.equal(timers(), before, 'no pacing timer is left after close');
  await Promise.all(writes); // and every write has returned
});
