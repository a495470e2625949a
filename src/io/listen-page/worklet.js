// AudioWorklet of the listening page: plays the live PCM stream of `lts --listen` through a
// jitter buffer. Messages from the page (port):
//   { type: 'open', id, prebufferMs, maxBufferMs }  start a stream (drops anything buffered)
//   { type: 'data', id, samples: Float32Array }      append samples (mono, at the context rate)
//   { type: 'close', id }                            the stream ended: play out what is left
// Playback starts once `prebufferMs` of audio is buffered; when the buffer runs dry while the
// stream is open that is an underrun (counted, and buffering starts again); audio beyond
// `maxBufferMs` is dropped, oldest first (the sender's clock runs ahead, or a burst arrived), and
// a lasting excess over the prebuffer is skipped with a short crossfade (see trackExcess).
// Reports to the page: { type: 'stats', id, played, underruns, dropped, buffered, final } about
// every 50 ms and once when a closed stream has played out, and { type: 'onset', id, frame, index }
// when the output goes from quiet (a block peak below 0.01) to loud (|x| >= 0.25): `frame` is the
// context frame of that sample, `index` its position in the stream.

const CAPACITY = 1 << 19; // samples (about 11 s at 48 kHz)

class LiveProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ring = new Float32Array(CAPACITY);
    this.reset(-1, 0, 0);
    this.port.onmessage = (e) => this.receive(e.data);
  }

  reset(id, prebufferMs, maxBufferMs) {
    this.id = id;
    this.read = 0;
    this.fill = 0;
    this.open = id >= 0;
    this.playing = false;
    this.prebuffer = Math.max(128, Math.round((prebufferMs / 1000) * sampleRate));
    this.maxBuffer = Math.min(CAPACITY - 128, Math.max(this.prebuffer * 2, Math.round((maxBufferMs / 1000) * sampleRate)));
    this.index = 0; // stream index of the next sample to play
    this.played = 0;
    this.underruns = 0;
    this.dropped = 0;
    this.quiet = true;
    this.sinceReport = 0;
    this.finalSent = false;
    this.minFill = Infinity;
    this.window = sampleRate;
    this.skip = 0;
  }

  receive(m) {
    if (m.type === 'open') this.reset(m.id, m.prebufferMs, m.maxBufferMs);
    else if (m.type === 'data' && m.id === this.id) this.push(m.samples);
    else if (m.type === 'close' && m.id === this.id) {
      this.open = false;
      if (this.fill === 0) this.report(true);
    }
  }

  push(x) {
    let n = x.length;
    let from = 0;
    if (n > CAPACITY) {
      from = n - CAPACITY;
      this.dropped += from;
      this.index += from;
      n = CAPACITY;
    }
    const over = this.fill + n - CAPACITY;
    if (over > 0) this.discard(over);
    let w = (this.read + this.fill) % CAPACITY;
    for (let i = from; i < x.length; i++) {
      this.ring[w] = x[i];
      w = w + 1 === CAPACITY ? 0 : w + 1;
    }
    this.fill += n;
  }

  discard(n) {
    this.read = (this.read + n) % CAPACITY;
    this.fill -= n;
    this.dropped += n;
    this.index += n;
  }

  report(final) {
    this.sinceReport = 0;
    if (final) {
      if (this.finalSent) return;
      this.finalSent = true;
    }
    this.port.postMessage({
      type: 'stats',
      id: this.id,
      played: this.played,
      underruns: this.underruns,
      dropped: this.dropped,
      buffered: this.fill,
      final,
    });
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    const n = out.length;
    if (this.id < 0) {
      out.fill(0);
      return true;
    }
    if (!this.playing && this.fill > 0 && (this.fill >= this.prebuffer || !this.open)) this.playing = true;
    let k = 0;
    if (this.playing) {
      if (this.fill > this.maxBuffer) this.discard(this.fill - this.prebuffer);
      this.trackExcess(n);
      let start = 0;
      if (this.skip > 0 && this.fill >= this.skip + n) start = this.crossfadeSkip(out);
      k = start + Math.min(n - start, this.fill);
      let peak = 0;
      for (let i = 0; i < k; i++) {
        let v = out[i];
        if (i >= start) {
          v = this.ring[this.read];
          out[i] = v;
          this.read = this.read + 1 === CAPACITY ? 0 : this.read + 1;
        }
        const a = v < 0 ? -v : v;
        if (this.quiet && a >= 0.25) {
          this.quiet = false;
          this.port.postMessage({ type: 'onset', id: this.id, frame: currentFrame + i, index: this.index - start + i });
        }
        if (a > peak) peak = a;
      }
      if (peak < 0.01) this.quiet = true;
      this.fill -= k - start;
      this.index += k - start;
      this.played += k;
      if (k < n) {
        this.playing = false;
        if (this.open) this.underruns++;
      }
    }
    for (let i = k; i < n; i++) out[i] = 0;
    this.sinceReport += n;
    if (!this.open && this.fill === 0) this.report(true);
    else if (this.sinceReport >= sampleRate / 20) this.report(false);
    return true;
  }

  // Latency creep: after the sender stalls and then catches up in a burst, the buffer holds more
  // than the prebuffer for good. When its minimum over a second stays above the prebuffer by a
  // margin, the excess is skipped once, with a short crossfade (counted as dropped).
  trackExcess(n) {
    if (this.fill < this.minFill) this.minFill = this.fill;
    this.window -= n;
    if (this.window > 0) return;
    const margin = Math.max(256, this.prebuffer >> 2);
    if (this.open && this.minFill !== Infinity && this.minFill > this.prebuffer + margin) this.skip = this.minFill - this.prebuffer;
    this.minFill = Infinity;
    this.window = sampleRate;
  }

  /** Write the first XF output samples as a crossfade from the buffer head to `skip` samples later; returns XF. */
  crossfadeSkip(out) {
    const XF = Math.min(64, out.length);
    const k = this.skip;
    this.skip = 0;
    for (let i = 0; i < XF; i++) {
      const w = (i + 1) / (XF + 1);
      out[i] = this.ring[(this.read + i) % CAPACITY] * (1 - w) + this.ring[(this.read + k + i) % CAPACITY] * w;
    }
    this.read = (this.read + k + XF) % CAPACITY;
    this.fill -= k + XF;
    this.index += k + XF;
    this.dropped += k;
    return XF;
  }
}

registerProcessor('lts-live', LiveProcessor);
