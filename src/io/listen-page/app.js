// The listening page of `lts --listen`: receives state, renders and the live stream over a
// WebSocket (protocol: src/io/listen-server.ts), plays them, and reports back what it received
// and played (checksums, output times, live-stream statistics). Read-only: nothing here
// controls the instrument.

const token = new URLSearchParams(location.search).get('token') || '';
const withToken = (path) => `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
const $ = (id) => document.getElementById(id);
const KIND_RENDER = 1;
const KIND_LIVE = 2;

/** Everything the page knows; `window.ltsListen` exposes it for debugging. */
const page = {
  ws: null,
  connected: false,
  state: {},
  renders: [],
  /** The current render or clip: { id, name, url, sampleRate, length, peakDbfs, buffer, playWhenReady } */
  current: null,
  /** A `render` header waiting for its binary frame. */
  pendingHeader: null,
  ac: null,
  announced: null,
  pendingRate: null,
  master: null,
  node: null,
  audioKind: 'none',
  source: null,
  playStartedAt: 0,
  playDuration: 0,
  /** Live stream: { id, sampleRate, prebufferMs, maxBufferMs, received, next, sum, sumSquares, gaps, played, underruns, dropped, buffered, closed } */
  live: null,
  lastLiveReport: 0,
};
window.ltsListen = page;

// ---------------------------------------------------------------- connection

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}${withToken('/ws')}`);
  ws.binaryType = 'arraybuffer';
  page.ws = ws;
  ws.onopen = () => {
    page.retries = 0;
    setConnected(true);
  };
  ws.onclose = () => {
    setConnected(false);
    if (page.live) endLive(page.live.id);
    // Retry at once after a drop, then back off to every 5 s (the instrument may be gone for good,
    // or restarted with a new token: then only its new URL works).
    page.retries = (page.retries || 0) + 1;
    setTimeout(connect, Math.min(5000, 500 * page.retries));
  };
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') onText(JSON.parse(e.data));
    else onBinary(e.data);
  };
}

function send(report) {
  if (page.ws && page.ws.readyState === WebSocket.OPEN) page.ws.send(JSON.stringify(report));
}

function setConnected(on) {
  page.connected = on;
  const el = $('conn');
  el.textContent = on ? 'connected' : 'disconnected — retrying';
  el.className = `pill ${on ? 'on' : 'off'}`;
}

function onText(m) {
  switch (m.type) {
    case 'hello':
      showState(m.state || {});
      showRenders(m.renders || []);
      if (m.live) openLive(m.live);
      if (page.ac && page.announced === page.ac) send({ type: 'ready', audio: page.audioKind, sampleRate: page.ac.sampleRate });
      break;
    case 'state':
      showState(m.state || {});
      break;
    case 'renders':
      showRenders(m.renders || []);
      break;
    case 'render':
      page.pendingHeader = m;
      break;
    case 'play':
      if (page.current && page.current.id === m.id) playCurrent();
      break;
    case 'stop':
      stopSource(true);
      break;
    case 'live-open':
      openLive(m);
      break;
    case 'live-close':
      endLive(m.id);
      break;
  }
}

function onBinary(buf) {
  const view = new DataView(buf);
  const kind = view.getUint32(0, true);
  const id = view.getUint32(4, true);
  const first = view.getFloat64(8, true);
  const samples = new Float32Array(buf, 16);
  if (kind === KIND_RENDER) receiveRender(id, samples);
  else if (kind === KIND_LIVE) receiveLive(id, first, samples);
}

// ---------------------------------------------------------------- audio

/**
 * Create (or re-create at another rate) the AudioContext with the live node, and resume it.
 * Browsers let audio start only after a user gesture (the Start audio button), unless an
 * autoplay policy allows it; without one the context waits, suspended, for the click.
 */
async function startAudio(sampleRate) {
  const rate = sampleRate || (page.live && page.live.sampleRate) || (page.current && page.current.sampleRate) || 44100;
  if (!page.ac || page.ac.sampleRate !== rate) {
    page.pendingRate = rate;
    try {
      await createContext(rate);
    } finally {
      page.pendingRate = null;
    }
  }
  const ac = page.ac;
  if (ac.state !== 'running') await Promise.race([ac.resume(), new Promise((r) => setTimeout(r, 300))]);
  if (ac.state === 'running') onRunning(ac);
  updateStartButton();
}

async function createContext(rate) {
  if (page.ac) {
    stopSource(false);
    page.ac.onstatechange = null;
    page.ac.close().catch(() => undefined);
  }
  let ac;
  try {
    ac = new AudioContext({ sampleRate: rate, latencyHint: 'interactive' });
  } catch {
    ac = new AudioContext({ latencyHint: 'interactive' });
  }
  page.ac = ac;
  page.announced = null;
  page.master = ac.createGain();
  page.master.gain.value = Number($('volume').value);
  page.master.connect(ac.destination);
  page.node = null;
  page.audioKind = 'none';
  if (ac.audioWorklet) {
    await ac.audioWorklet.addModule(withToken('worklet.js'));
    if (page.ac !== ac) return;
    const node = new AudioWorkletNode(ac, 'lts-live', { numberOfInputs: 0, outputChannelCount: [1] });
    node.port.onmessage = (e) => onWorklet(e.data);
    node.connect(page.master);
    page.node = node;
    page.audioKind = 'worklet';
  } else {
    notice('Live audio needs a secure context: open the page as http://localhost:PORT/ through ssh -L (renders still play).');
  }
  // Only now (the live node exists) may a state change announce the context as ready.
  ac.onstatechange = () => {
    updateStartButton();
    if (ac.state === 'running') onRunning(ac);
  };
}

/** Once per context, when it runs: tell the server, and play a render that arrived before the click. */
function onRunning(ac) {
  if (page.announced === ac || page.ac !== ac) return;
  page.announced = ac;
  send({ type: 'ready', audio: page.audioKind, sampleRate: ac.sampleRate });
  if (page.live && !page.live.final) attachLive(page.live);
  if (page.current && page.current.playWhenReady) playCurrent();
}

const running = () => page.ac !== null && page.ac.state === 'running';

function updateStartButton() {
  const b = $('start');
  if (running()) {
    b.textContent = `Audio on · ${(page.ac.sampleRate / 1000).toFixed(1)} kHz`;
    b.classList.add('started');
  } else {
    b.textContent = 'Start audio';
    b.classList.remove('started');
  }
  $('replay').disabled = !(page.current && page.current.buffer);
}

/** Epoch milliseconds at which context time `t` (seconds) reaches the output. */
function outputTimeOf(t) {
  const ts = page.ac.getOutputTimestamp();
  const perf = ts.performanceTime + (t - ts.contextTime) * 1000;
  return performance.timeOrigin + perf;
}

// ---------------------------------------------------------------- renders

function receiveRender(id, samples) {
  const h = page.pendingHeader;
  page.pendingHeader = null;
  if (!h || h.id !== id || samples.length !== h.length) return;
  const buffer = new AudioBuffer({ numberOfChannels: 1, length: Math.max(1, samples.length), sampleRate: h.sampleRate });
  buffer.copyToChannel(samples, 0);
  const data = buffer.getChannelData(0);
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < samples.length; i++) {
    sum += data[i];
    sumSquares += data[i] * data[i];
  }
  send({ type: 'received', id, length: samples.length, sampleRate: h.sampleRate, sum, sumSquares, receivedAt: performance.timeOrigin + performance.now() });
  stopSource(false);
  page.current = { id, name: h.name, url: h.url, sampleRate: h.sampleRate, length: samples.length, peakDbfs: h.peakDbfs, buffer, playWhenReady: false };
  drawWave(data, h.name);
  updateStartButton();
  if (h.play) playCurrent();
}

function playCurrent() {
  const cur = page.current;
  if (!cur || !cur.buffer) return;
  stopSource(false);
  if (!running()) {
    cur.playWhenReady = true;
    $('playing').textContent = `${cur.name} — press Start audio to hear it`;
    return;
  }
  cur.playWhenReady = false;
  const src = page.ac.createBufferSource();
  src.buffer = cur.buffer;
  src.connect(page.master);
  const when = page.ac.currentTime;
  src.start(when);
  page.source = { node: src, id: cur.id, stopped: false };
  page.playStartedAt = when;
  page.playDuration = cur.buffer.duration;
  send({ type: 'started', id: cur.id, outputAt: outputTimeOf(when) });
  const entry = page.source;
  src.onended = () => {
    send({ type: 'ended', id: entry.id, stopped: entry.stopped });
    if (page.source === entry) {
      page.source = null;
      $('playing').textContent = 'nothing';
    }
  };
  $('playing').textContent = cur.name;
  requestAnimationFrame(tick);
}

function stopSource(fromInstrument) {
  if (page.current) page.current.playWhenReady = false;
  const s = page.source;
  if (!s) return;
  s.stopped = true;
  try {
    s.node.stop();
  } catch {
    // already ended
  }
  page.source = null;
  $('playing').textContent = fromInstrument ? 'stopped' : 'nothing';
  $('progress').style.width = '0';
  drawCurve();
}

function tick() {
  if (!page.source || !page.ac) {
    $('progress').style.width = '0';
    drawCurve();
    return;
  }
  const f = Math.min(1, (page.ac.currentTime - page.playStartedAt) / Math.max(1e-6, page.playDuration));
  $('progress').style.width = `${(f * 100).toFixed(2)}%`;
  drawCurve(f);
  if (f < 1) requestAnimationFrame(tick);
}

// ---------------------------------------------------------------- live stream

function openLive(m) {
  page.live = {
    id: m.id, sampleRate: m.sampleRate, prebufferMs: m.prebufferMs, maxBufferMs: m.maxBufferMs,
    received: 0, next: 0, sum: 0, sumSquares: 0, gaps: 0, played: 0, underruns: 0, dropped: 0, pageDropped: 0, buffered: 0,
    closed: false, final: false, held: [], heldLength: 0, nodeOpen: null,
  };
  if (page.ac && page.ac.sampleRate !== m.sampleRate && running()) {
    startAudio(m.sampleRate).catch((e) => notice(`Audio could not restart at ${m.sampleRate} Hz: ${e && e.message ? e.message : e}`));
  } else if (running()) {
    attachLive(page.live);
  }
  showLive();
}

function receiveLive(id, first, samples) {
  const L = page.live;
  if (!L || L.id !== id) return;
  if (first !== L.next) L.gaps++;
  L.next = first + samples.length;
  L.received += samples.length;
  for (let i = 0; i < samples.length; i++) {
    L.sum += samples[i];
    L.sumSquares += samples[i] * samples[i];
  }
  if (liveNodeReady(L)) page.node.port.postMessage({ type: 'data', id, samples }, [samples.buffer]);
  else holdLive(L, samples);
  const now = performance.now();
  if (now - page.lastLiveReport > 200) reportLive(false);
}

/** Whether the worklet plays stream `L` now (audio running at the stream's rate). */
function liveNodeReady(L) {
  return page.node !== null && running() && page.ac.sampleRate === L.sampleRate && L.nodeOpen === page.node;
}

/** Keep samples that arrive while the audio (re)starts, up to the buffer limit; older ones are dropped. */
function holdLive(L, samples) {
  L.held.push(samples);
  L.heldLength += samples.length;
  const limit = Math.round((L.maxBufferMs / 1000) * L.sampleRate);
  while (L.heldLength > limit && L.held.length > 1) {
    const old = L.held.shift();
    L.heldLength -= old.length;
    L.pageDropped += old.length;
  }
}

/** Open stream `L` in the current worklet node and hand it what was held. */
function attachLive(L) {
  if (!page.node || page.ac.sampleRate !== L.sampleRate || L.nodeOpen === page.node) return;
  page.node.port.postMessage({ type: 'open', id: L.id, prebufferMs: L.prebufferMs, maxBufferMs: L.maxBufferMs });
  L.nodeOpen = page.node;
  for (const x of L.held) page.node.port.postMessage({ type: 'data', id: L.id, samples: x }, [x.buffer]);
  L.held = [];
  L.heldLength = 0;
  if (L.closed) page.node.port.postMessage({ type: 'close', id: L.id });
}

function endLive(id) {
  const L = page.live;
  if (!L || L.id !== id || L.closed) return;
  L.closed = true;
  if (liveNodeReady(L)) page.node.port.postMessage({ type: 'close', id });
  else if (!(page.ac && page.ac.audioWorklet && page.ac.state !== 'closed' && (page.ac.sampleRate === L.sampleRate || page.pendingRate === L.sampleRate))) {
    // No audio is coming for this stream: what was held will not play.
    L.pageDropped += L.heldLength;
    L.held = [];
    L.heldLength = 0;
    finishLive();
  }
}

function finishLive() {
  const L = page.live;
  if (!L || L.final) return;
  L.final = true;
  reportLive(true);
  showLive();
}

function onWorklet(m) {
  const L = page.live;
  if (m.type === 'stats') {
    if (!L || L.id !== m.id) return;
    L.played = m.played;
    L.underruns = m.underruns;
    L.dropped = m.dropped;
    L.buffered = m.buffered;
    if (m.final && L.closed) finishLive();
    else showLive();
  } else if (m.type === 'onset' && page.ac) {
    send({ type: 'onset', id: m.id, index: m.index, outputAt: outputTimeOf(m.frame / page.ac.sampleRate) });
  }
}

function reportLive(final) {
  const L = page.live;
  if (!L) return;
  page.lastLiveReport = performance.now();
  send({
    type: 'live', id: L.id, received: L.received, played: L.played, sum: L.sum, sumSquares: L.sumSquares,
    gaps: L.gaps, underruns: L.underruns, dropped: L.dropped + L.pageDropped, bufferedMs: (L.buffered / L.sampleRate) * 1000, final,
  });
}

function showLive() {
  const L = page.live;
  const el = $('live');
  if (!L) {
    el.textContent = 'live stream: off';
    return;
  }
  const secs = (L.received / L.sampleRate).toFixed(1);
  const buf = ((L.buffered / L.sampleRate) * 1000).toFixed(0);
  el.textContent = L.final
    ? `live stream ended · ${secs} s received · underruns ${L.underruns} · gaps ${L.gaps}`
    : `live · ${(L.sampleRate / 1000).toFixed(1)} kHz · ${secs} s · buffer ${buf} ms · underruns ${L.underruns} · gaps ${L.gaps}` +
      (running() ? '' : ' · press Start audio to hear it');
}

// ---------------------------------------------------------------- drawing

const fmt = (s) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : '—');

function showState(s) {
  page.state = s;
  const ex = (e) => {
    if (!e) return '—';
    if (!Number.isFinite(e.start)) return e.file;
    return Number.isFinite(s.duration) ? `${e.file} · ${fmt(e.start)} – ${fmt(e.start + s.duration)}` : `${e.file} · from ${fmt(e.start)}`;
  };
  $('exA').textContent = ex(s.a);
  $('exB').textContent = ex(s.b);
  $('model').textContent = s.model || '—';
  $('status').textContent = s.status || '—';
  $('source').textContent = s.source ? `from ${s.source}` : '';
  if (s.playing && !page.source) $('playing').textContent = `${s.playing} (on the host)`;
  const k = s.knob;
  if (k && Number.isFinite(k.value)) {
    const lo = Number.isFinite(k.min) ? k.min : 0;
    const hi = Number.isFinite(k.max) ? k.max : 1;
    const f = Math.max(0, Math.min(1, (k.value - lo) / (hi - lo || 1)));
    $('knobBar').style.width = `${(f * 100).toFixed(1)}%`;
    $('knobValue').textContent = k.value.toFixed(3);
    $('knobLabel').textContent = k.label || '';
  } else {
    $('knobBar').style.width = '0';
    $('knobValue').textContent = '—';
    $('knobLabel').textContent = '';
  }
  drawCurve();
}

const SVG = 'http://www.w3.org/2000/svg';
function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function drawCurve(head) {
  const svg = $('curve');
  svg.replaceChildren();
  // Draw in the element's own pixels, so lines and labels are not stretched.
  const W = Math.max(200, Math.round(svg.clientWidth || 600));
  const H = Math.max(100, Math.round(svg.clientHeight || 180));
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const values = Array.isArray(page.state.curve) ? page.state.curve.filter(Number.isFinite) : [];
  let [lo, hi] = Array.isArray(page.state.curveRange) ? page.state.curveRange : [0, 1];
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const pad = (hi - lo) * 0.06 || 0.1;
  lo -= pad;
  hi += pad;
  const y = (v) => H - ((v - lo) / (hi - lo)) * H;
  for (let i = 1; i < 4; i++) svg.append(svgEl('line', { class: 'grid', x1: (i * W) / 4, x2: (i * W) / 4, y1: 0, y2: H }));
  svg.append(svgEl('line', { class: 'ref-a', x1: 0, x2: W, y1: y(1), y2: y(1) }));
  svg.append(svgEl('line', { class: 'ref-b', x1: 0, x2: W, y1: y(0), y2: y(0) }));
  svg.append(svgEl('text', { x: 6, y: y(1) + 14 }, 'A (a = 1)'));
  svg.append(svgEl('text', { x: 6, y: y(0) - 6 }, 'B (a = 0)'));
  if (values.length > 0) {
    const pts = values.length === 1 ? [values[0], values[0]] : values;
    const d = pts.map((v, i) => `${((i / (pts.length - 1)) * W).toFixed(2)},${y(v).toFixed(2)}`).join(' ');
    svg.append(svgEl('polyline', { class: 'line', points: d }));
  } else {
    svg.append(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no curve yet'));
  }
  if (head !== undefined && head > 0 && head < 1) svg.append(svgEl('line', { class: 'head', x1: head * W, x2: head * W, y1: 0, y2: H }));
}

function drawWave(data, name) {
  const c = $('wave');
  const g = c.getContext('2d');
  const W = c.width;
  const H = c.height;
  g.clearRect(0, 0, W, H);
  g.strokeStyle = '#2e323c';
  g.beginPath();
  g.moveTo(0, H / 2);
  g.lineTo(W, H / 2);
  g.stroke();
  g.fillStyle = '#5ad18a';
  const per = data.length / W;
  for (let x = 0; x < W; x++) {
    const a = Math.floor(x * per);
    const b = Math.max(a + 1, Math.floor((x + 1) * per));
    let mn = 0;
    let mx = 0;
    for (let i = a; i < b && i < data.length; i++) {
      if (data[i] < mn) mn = data[i];
      if (data[i] > mx) mx = data[i];
    }
    const y0 = H / 2 - mx * (H / 2);
    const y1 = H / 2 - mn * (H / 2);
    g.fillRect(x, y0, 1, Math.max(1, y1 - y0));
  }
  $('waveName').textContent = `${name} · ${(data.length / (page.current ? page.current.sampleRate : 44100)).toFixed(2)} s`;
}

function showRenders(list) {
  page.renders = list;
  const body = $('renders');
  body.replaceChildren();
  if (list.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 5;
    td.className = 'muted';
    td.textContent = 'none yet';
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const r of list) {
    const tr = document.createElement('tr');
    const cell = (text) => {
      const td = document.createElement('td');
      if (text !== undefined) td.textContent = text;
      tr.append(td);
      return td;
    };
    const name = cell();
    if (r.url) {
      const a = document.createElement('a');
      a.href = withToken(r.url);
      a.download = r.name;
      a.textContent = r.name;
      name.append(a);
    } else name.textContent = r.name;
    cell(r.seconds === null ? '—' : `${r.seconds.toFixed(2)} s`);
    cell(r.peakDbfs === null ? '—' : `${r.peakDbfs.toFixed(1)} dBFS`);
    cell(new Date(r.createdAt).toLocaleTimeString());
    const side = cell();
    if (r.sidecarUrl) {
      const a = document.createElement('a');
      a.href = withToken(r.sidecarUrl);
      a.download = r.name.replace(/\.wav$/i, '.json');
      a.textContent = 'sidecar';
      side.append(a);
    }
    body.append(tr);
  }
}

function notice(text) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = false;
}

// ---------------------------------------------------------------- start

$('start').addEventListener('click', () => {
  startAudio().catch((e) => notice(`Audio could not start: ${e && e.message ? e.message : e}`));
});
$('replay').addEventListener('click', () => playCurrent());
$('volume').addEventListener('input', (e) => {
  if (page.master) page.master.gain.value = Number(e.target.value);
});
drawCurve();
updateStartButton();
window.addEventListener('resize', () => drawCurve());
connect();
// Prepare audio at once: it starts right away where an autoplay policy allows it, else on the click.
startAudio().catch(() => undefined);
