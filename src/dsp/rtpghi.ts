/**
 * Real-time Phase Gradient Heap Integration (RTPGHI): streaming phase
 * reconstruction from STFT magnitudes, one frame at a time, with the phase and
 * overlap-add state carried from frame to frame.
 *
 * Implements Z. Průša, P. L. Søndergaard, "Real-Time Spectrogram Inversion
 * Using Phase Gradient Heap Integration", Proc. DAFx-16, Brno, 2016, for the
 * STFT of `stft.ts` (periodic Hann window of length `N = nFft`, hop `a`,
 * centred frames). The phase-derivative estimates are those of the offline
 * PGHI in `pghi.ts` (Průša, Balazs, Søndergaard, IEEE/ACM TASLP 2017; see its
 * module comment for the derivation and the Gaussian `λ = 0.25645·N²`):
 *
 * ```text
 *   Δ_t φ(n, m) = 2π a m / N + (a N / λ) · (s[n, m+1] − s[n, m−1]) / 2      (per frame step)
 *   Δ_m φ(n, m) = −(λ / (a N)) · ∂_t s(n, m)                                  (per bin step)
 * ```
 *
 * with `s = ln|c|`. The time derivative `∂_t s` needs the neighbouring frames:
 * with one frame of look-ahead (`lookahead: 1`, the paper's preferred variant)
 * it is the centred difference `(s[n+1] − s[n−1]) / 2`, which costs one hop of
 * extra delay; without look-ahead (`lookahead: 0`) it is, by default, the
 * backward difference of the power `P = |c|²` over its mean,
 * `(P[n] − P[n−1]) / (P[n] + P[n−1])`, or with `timeDerivative: 'log'` that of
 * `s`, `s[n] − s[n−1]` (see {@link RtPghiOptions.timeDerivative}).
 *
 * Per frame `n` (Průša & Søndergaard 2016, Algorithm 1): coefficients of frame
 * `n` below `tolerance · max` (the maximum over the frames in view: `n − 1`,
 * `n` and, with look-ahead, `n + 1`) get a uniformly random phase from a seeded
 * generator. A max-heap keyed on `s` is filled with the coefficients of frame
 * `n − 1` above the tolerance (their phases are final). The largest entry is
 * popped repeatedly: an entry of frame `n − 1` gives its bin of frame `n` the
 * phase `φ[n−1, m] + (Δ_t φ[n−1, m] + Δ_t φ[n, m]) / 2` (trapezoidal rule); an
 * entry of frame `n` gives its unreached neighbours `m ± 1` the phase
 * `φ[n, m] ± (Δ_m φ[n, m] + Δ_m φ[n, m±1]) / 2`; each newly reached
 * coefficient is pushed. When the heap runs dry while coefficients of frame
 * `n` remain (an onset: their bins were quiet in frame `n − 1`), the largest
 * remaining one is integrated in time from frame `n − 1` and the loop goes on.
 * Only two frames are ever in the heap, so the cost per frame is
 * `O(M log M)` for `M = N/2 + 1` bins, independent of the stream length.
 *
 * Synthesis: each frame's coefficients (multiplied by `(−1)^m`, which moves the
 * phase origin from the window centre to the frame start, the convention of
 * `stft.ts`) are inverse-transformed, windowed and overlap-added; every push
 * then finalises `hop` samples, normalised by the window-sum-square exactly as
 * the offline {@link istft} (including the partial sums at the start of the
 * stream and, after {@link RtPghi.flush}, at its end). The streamed output
 * is therefore sample-for-sample the `istft` of the frames with the phases
 * chosen here, with sample 0 at the centre of the first frame.
 *
 * @module
 */
import type { StftConfig } from './types.ts';
import { validateStftConfig, hannWindow, synthesisWindow, pffftFrameScratch } from './stft.ts';
import { pffft } from './fft.ts';
import { createRng, type Rng } from './rng.ts';
import { HANN_LAMBDA, DEFAULT_PGHI_TIME_DERIVATIVE, DEFAULT_PGHI_TOLERANCE, isPghiTimeDerivative, type PghiTimeDerivative } from './pghi.ts';
import { UserError } from '../io/errors.ts';

/** Options of {@link RtPghi}. */
export interface RtPghiOptions {
  /**
   * Frames of look-ahead: 1 (default) estimates the time derivative of the
   * log-magnitude with a centred difference and delays the output by one hop;
   * 0 uses a backward difference and adds no delay.
   */
  lookahead?: 0 | 1;
  /**
   * Relative magnitude threshold in (0, 1): coefficients below `tolerance` times
   * the largest magnitude of the frames in view get random phase. Default
   * {@link DEFAULT_PGHI_TOLERANCE} (1e-4, −80 dB), as the offline {@link pghi}.
   */
  tolerance?: number;
  /** Seed of the random phases of coefficients below the tolerance. Default 0. */
  seed?: number;
  /** λ/N² of the Gaussian approximation of the window. Default {@link HANN_LAMBDA} (Hann); leave it for `stft.ts`. */
  lambdaFactor?: number;
  /**
   * The backward time difference of look-ahead 0: `'power'` (default), `(P[n] − P[n−1]) / (P[n] + P[n−1])` with
   * `P = |c|²` (floored like the logarithms), or `'log'`, `s[n] − s[n−1]` with `s = ln|c|`. Both estimate ∂s/∂t. The
   * power varies slowly where the log-magnitude of partials that beat does not (as in the offline {@link pghi},
   * `PghiOptions.timeDerivative`); the ratio to the mean power stays within ±1 where a single frame's power is
   * small. Measured 2026-12-06, median SC of the stream: `data/bench/` −22.65 dB against −21.72 with `'log'`,
   * `data/demo/` −26.91 against −26.37 (no file worse). With look-ahead 1 the centred difference of
   * `s` is used either way (the option applies only to the last frame, which {@link RtPghi.flush} synthesises
   * without a next one); the centred power difference measured 0.3 dB worse there (−24.17 against −24.51).
   */
  timeDerivative?: PghiTimeDerivative;
}


/**
 * Streaming STFT phase reconstruction (RTPGHI, Průša & Søndergaard, DAFx 2016).
 *
 * Feed magnitude frames in order with {@link RtPghi.push}; each push returns
 * the output samples that became final (`hop` samples in steady state, `null`
 * while the stream is still filling the first half window), so the
 * concatenation of all returned blocks plus {@link RtPghi.flush} is the
 * reconstructed signal starting at the centre of the first frame, exactly as
 * `istft(coefficients, cfg, (frames − 1)·hop + nFft/2)` would give it.
 *
 * @example
 * const rt = new RtPghi({ kind: 'stft', sampleRate: 44100, nFft: 2048, hop: 256 });
 * for (const frame of magnitudeFrames) {   // each a Float32Array of 1025 bins
 *   const out = rt.push(frame);            // 256 new samples, or null at the start
 *   if (out) device.write(out);
 * }
 * device.write(rt.flush());                // the tail after the last frame
 */
export class RtPghi {
  /** The STFT configuration (copied). */
  readonly config: Readonly<StftConfig>;
  /** Bins per frame, `nFft/2 + 1`. */
  readonly bins: number;
  /** Frames of look-ahead (0 or 1). */
  readonly lookahead: 0 | 1;
  /** Relative tolerance in use. */
  readonly tolerance: number;
  /**
   * Samples between the first sample of the block a push returns and the
   * centre of the frame that push delivered: `nFft/2 + lookahead·hop`
   * (1280 = 29 ms at 2048/256 with look-ahead, 1024 = 23 ms without). A change
   * in the pushed magnitude starts to be heard `lookahead·hop` samples into
   * that push's output (at the edge of its window) and is at full weight here.
   */
  readonly latencySamples: number;

  private readonly N: number;
  private readonly hop: number;
  private readonly seed: number;
  /** Per-bin constants: the stationary phase advance per hop (reduced mod 2π). */
  private readonly advance: Float64Array;
  /** (a N / λ) / 2: weight of the centred frequency difference of s in Δ_t φ. */
  private readonly hT: number;
  /** −λ / (a N): weight of the time difference of s in Δ_m φ. */
  private readonly cF: number;
  /** `timeDerivative: 'power'`: the backward difference of look-ahead 0 on the power. */
  private readonly powerDifference: boolean;
  /** Analysis/synthesis window (periodic Hann). */
  private readonly window: Float32Array;
  /** Synthesis window w / N (the inverse FFT is unscaled). */
  private readonly ws: Float32Array;
  /** 1 / window-sum-square at padded positions 0..N-1 with frames from 0 on (start of the stream). */
  private readonly invWssStart: Float64Array;
  /** 1 / window-sum-square in steady state, by padded position modulo hop. */
  private readonly invWssSteady: Float64Array;

  // Frame ring: index 0 = previous frame (n − 1), 1 = current (n), 2 = look-ahead (n + 1).
  private mag: Float32Array[];
  private logm: Float32Array[];
  private maxOf = new Float64Array(3);
  /** Δ_t φ of the previous and current frame. */
  private dTprev: Float64Array;
  private dTcur: Float64Array;
  private dF: Float64Array;
  private phasePrev: Float64Array;
  private phaseCur: Float64Array;
  /** Heap of entries (0..M−1 previous frame, M..2M−1 current frame) keyed on log-magnitude. */
  private heap: Int32Array;
  private heapKey: Float32Array;
  private order: Int32Array;
  /** Overlap-add accumulator; `ola[0]` is padded sample `synthesized·hop`. */
  private ola: Float64Array;
  private rng: Rng;
  /** Frames received by push. */
  private received = 0;
  /** Frames synthesised (phase fixed and overlap-added). */
  private synthesized = 0;
  /** Padded samples emitted or skipped so far (the first nFft/2 are before signal sample 0 and are dropped). */
  private emittedPadded = 0;
  private flushed = false;

  /**
   * @param cfg STFT configuration of the magnitudes (`nFft`, `hop`; periodic Hann, centred frames as `stft.ts`).
   * @param opts See {@link RtPghiOptions}: `lookahead` (default 1), `tolerance` (default 1e-4), `seed` (default 0).
   * @throws UserError for an invalid configuration or option.
   */
  constructor(cfg: StftConfig, opts: RtPghiOptions = {}) {
    try {
      validateStftConfig(cfg);
    } catch (e) {
      throw new UserError(`RtPghi: ${(e as Error).message}`);
    }
    const lookahead = opts.lookahead ?? 1;
    if (lookahead !== 0 && lookahead !== 1) throw new UserError(`RtPghi: lookahead must be 0 or 1, got ${String(lookahead)}`);
    const tolerance = opts.tolerance ?? DEFAULT_PGHI_TOLERANCE;
    if (!(tolerance > 0 && tolerance < 1)) throw new UserError(`RtPghi: tolerance must be in (0, 1), got ${tolerance}; e.g. 1e-4 (-80 dB)`);
    const lambdaFactor = opts.lambdaFactor ?? HANN_LAMBDA;
    if (!(lambdaFactor > 0 && Number.isFinite(lambdaFactor))) {
      throw new UserError(`RtPghi: lambdaFactor must be a positive number, got ${lambdaFactor}; leave it unset for Hann`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new UserError(`RtPghi: seed must be an integer 0..4294967295, got ${seed}`);
    const timeDerivative = opts.timeDerivative ?? DEFAULT_PGHI_TIME_DERIVATIVE;
    if (!isPghiTimeDerivative(timeDerivative)) {
      throw new UserError(`RtPghi: timeDerivative must be 'power' or 'log', got ${String(timeDerivative)}; leave it unset for 'power'`);
    }
    this.powerDifference = timeDerivative === 'power';
    this.config = Object.freeze({ kind: 'stft', sampleRate: cfg.sampleRate, nFft: cfg.nFft, hop: cfg.hop });
    const N = cfg.nFft;
    const a = cfg.hop;
    const M = N / 2 + 1;
    this.N = N;
    this.hop = a;
    this.bins = M;
    this.lookahead = lookahead;
    this.tolerance = tolerance;
    this.seed = seed;
    this.latencySamples = N / 2 + lookahead * a;
    const lambda = lambdaFactor * N * N;
    this.hT = (a * N) / lambda / 2;
    this.cF = -lambda / (a * N);
    this.advance = new Float64Array(M);
    for (let m = 0; m < M; m++) this.advance[m] = (2 * Math.PI * ((a * m) % N)) / N;
    const w = hannWindow(N);
    this.window = w;
    this.ws = synthesisWindow(N);
    this.invWssStart = new Float64Array(N);
    for (let p = 0; p < N; p++) {
      let s = 0;
      for (let t = 0; t * a <= p; t++) s += w[p - t * a] * w[p - t * a];
      this.invWssStart[p] = s > 1e-8 ? 1 / s : 0;
    }
    this.invWssSteady = new Float64Array(a);
    for (let r = 0; r < a; r++) {
      let s = 0;
      for (let j = r; j < N; j += a) s += w[j] * w[j];
      this.invWssSteady[r] = s > 1e-8 ? 1 / s : 0;
    }
    this.mag = [new Float32Array(M), new Float32Array(M), new Float32Array(M)];
    this.logm = [new Float32Array(M), new Float32Array(M), new Float32Array(M)];
    this.dTprev = new Float64Array(M);
    this.dTcur = new Float64Array(M);
    this.dF = new Float64Array(M);
    this.phasePrev = new Float64Array(M);
    this.phaseCur = new Float64Array(M);
    this.heap = new Int32Array(2 * M);
    this.heapKey = new Float32Array(2 * M);
    this.order = new Int32Array(M);
    this.ola = new Float64Array(N);
    this.rng = createRng(seed);
  }

  /** Frames pushed since construction or the last {@link RtPghi.reset}. */
  get framesPushed(): number {
    return this.received;
  }

  /** Signal samples returned so far (by push and flush). */
  get samplesOut(): number {
    return Math.max(0, this.emittedPadded - this.N / 2);
  }

  /**
   * Add the next magnitude frame.
   *
   * @param magFrame `nFft/2 + 1` finite, non-negative magnitudes (as `|stft|`; copied, so the caller may reuse the array).
   * @returns The signal samples that became final: `hop` of them once the stream has filled
   *   (after `ceil((nFft/2 + lookahead·hop) / hop)` pushes; the first returned block may be
   *   shorter when `nFft/2` is not a multiple of `hop`), otherwise `null`. A new array each call.
   * @throws UserError for a frame of the wrong length or with invalid values, or after {@link RtPghi.flush}.
   */
  push(magFrame: Float32Array): Float32Array | null {
    if (this.flushed) throw new UserError('RtPghi: push after flush; call reset() to start a new stream');
    const M = this.bins;
    if (!(magFrame instanceof Float32Array) || magFrame.length !== M) {
      throw new UserError(`RtPghi: a frame must be a Float32Array of nFft/2+1 = ${M} magnitudes, got ${magFrame instanceof Float32Array ? magFrame.length : typeof magFrame}`);
    }
    // Rotate the ring so the new frame lands in slot 2 (look-ahead) or 1 (no look-ahead).
    const slot = this.lookahead === 1 ? 2 : 1;
    if (slot === 2) this.rotate();
    else this.rotate2();
    const dst = this.mag[slot];
    const lg = this.logm[slot];
    let mx = 0;
    for (let m = 0; m < M; m++) {
      const v = magFrame[m];
      if (!(v >= 0) || v === Infinity) {
        throw new UserError(`RtPghi: magnitude of bin ${m} in frame ${this.received} is ${v}; magnitudes must be finite and >= 0`);
      }
      dst[m] = v;
      lg[m] = v > 1e-30 ? Math.log(v) : LOG_TINY;
      if (v > mx) mx = v;
    }
    this.maxOf[slot] = mx;
    this.received++;
    if (this.lookahead === 1 && this.received < 2) return null;
    // The frame to synthesise is `synthesized` (slot 1); its previous frame is in slot 0 if it exists.
    this.synthesizeCurrent(this.synthesized > 0, this.lookahead === 1);
    return this.emit(false);
  }

  /**
   * End the stream: synthesise the frame still waiting for its look-ahead (its
   * time derivative from the previous frame only) and return every remaining
   * sample the frames cover, up to signal sample `(frames − 1)·hop + nFft/2`,
   * normalised as `istft` does at the end of a signal. Further pushes need
   * {@link RtPghi.reset}.
   *
   * @returns The remaining samples (empty if no frame was pushed).
   */
  flush(): Float32Array {
    if (this.flushed) return new Float32Array(0);
    this.flushed = true;
    if (this.received === 0) return new Float32Array(0);
    const parts: Float32Array[] = [];
    if (this.synthesized < this.received) {
      // Only possible with look-ahead: the newest frame (slot 2) has no successor.
      this.rotate();
      this.synthesizeCurrent(this.synthesized > 0, false);
      const b = this.emit(false);
      if (b) parts.push(b);
    }
    parts.push(this.emit(true) ?? new Float32Array(0));
    return concat(parts);
  }

  /** Forget every frame and all phase and overlap-add state; the next push starts a new stream (random phases restart from the seed). */
  reset(): void {
    for (const a of this.mag) a.fill(0);
    for (const a of this.logm) a.fill(0);
    this.maxOf.fill(0);
    this.dTprev.fill(0);
    this.dTcur.fill(0);
    this.phasePrev.fill(0);
    this.phaseCur.fill(0);
    this.ola.fill(0);
    this.rng = createRng(this.seed);
    this.received = 0;
    this.synthesized = 0;
    this.emittedPadded = 0;
    this.flushed = false;
  }

  /** Shift the ring by one: slot 1 → 0, slot 2 → 1, old slot 0 becomes the free slot 2. */
  private rotate(): void {
    const m = this.mag;
    const l = this.logm;
    const m0 = m[0];
    const l0 = l[0];
    m[0] = m[1]; m[1] = m[2]; m[2] = m0;
    l[0] = l[1]; l[1] = l[2]; l[2] = l0;
    this.maxOf[0] = this.maxOf[1];
    this.maxOf[1] = this.maxOf[2];
    this.maxOf[2] = 0;
  }

  /** Without look-ahead: slot 1 → 0, the old slot 0 becomes the free slot 1. */
  private rotate2(): void {
    const m = this.mag;
    const l = this.logm;
    const m0 = m[0];
    const l0 = l[0];
    m[0] = m[1]; m[1] = m0;
    l[0] = l[1]; l[1] = l0;
    this.maxOf[0] = this.maxOf[1];
    this.maxOf[1] = 0;
  }

  /**
   * Fix the phase of the frame in slot 1 by heap integration from the previous
   * frame (slot 0, if `hasPrev`) and overlap-add it. `hasNext`: slot 2 holds the
   * look-ahead frame.
   */
  private synthesizeCurrent(hasPrev: boolean, hasNext: boolean): void {
    const M = this.bins;
    const sP = this.logm[0];
    const sC = this.logm[1];
    const sN = this.logm[2];
    const magC = this.mag[1];
    const magP = this.mag[0];
    const maxView = Math.max(hasPrev ? this.maxOf[0] : 0, this.maxOf[1], hasNext ? this.maxOf[2] : 0);
    // Swap the phase/derivative buffers: the current frame becomes the previous one.
    let tmp = this.dTprev;
    this.dTprev = this.dTcur;
    this.dTcur = tmp;
    tmp = this.phasePrev;
    this.phasePrev = this.phaseCur;
    this.phaseCur = tmp;
    const phase = this.phaseCur;
    const phaseP = this.phasePrev;
    const dTP = this.dTprev;
    const dT = this.dTcur;
    const dF = this.dF;

    if (maxView === 0) {
      phase.fill(0);
      dT.fill(0);
      this.synthesized++; // silence adds nothing to the overlap-add
      return;
    }
    const thr = this.tolerance * maxView;
    const logThr = Math.log(thr);
    const fl = logThr - LN_1000; // log floor used in differences (as pghi.ts)
    const cl = (x: number): number => (x > fl ? x : fl);

    // Phase derivatives of the current frame.
    dT[0] = 0;
    for (let m = 1; m < M - 1; m++) dT[m] = this.advance[m] + this.hT * (cl(sC[m + 1]) - cl(sC[m - 1]));
    dT[M - 1] = this.advance[M - 1];
    if (hasPrev && hasNext) {
      const h = this.cF / 2;
      for (let m = 0; m < M; m++) dF[m] = h * (cl(sN[m]) - cl(sP[m]));
    } else if (hasNext) {
      for (let m = 0; m < M; m++) dF[m] = this.cF * (cl(sN[m]) - cl(sC[m]));
    } else if (hasPrev) {
      if (this.powerDifference) {
        const mf = thr / 1000; // the log floor as a magnitude
        for (let m = 0; m < M; m++) {
          const c = magC[m] > mf ? magC[m] : mf;
          const p = magP[m] > mf ? magP[m] : mf;
          dF[m] = this.cF * ((c * c - p * p) / (c * c + p * p));
        }
      } else for (let m = 0; m < M; m++) dF[m] = this.cF * (cl(sC[m]) - cl(sP[m]));
    } else dF.fill(0);

    // Coefficients below the tolerance: random phase; the others: not reached (NaN).
    let remaining = 0;
    for (let m = 0; m < M; m++) {
      if (magC[m] >= thr) {
        phase[m] = NaN;
        remaining++;
      } else phase[m] = 2 * Math.PI * this.rng() - Math.PI;
    }

    // Heap integration.
    const heap = this.heap;
    const key = this.heapKey;
    let size = 0;
    const push = (e: number, k: number): void => {
      let i = size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (key[parent] >= k) break;
        heap[i] = heap[parent];
        key[i] = key[parent];
        i = parent;
      }
      heap[i] = e;
      key[i] = k;
    };
    const pop = (): number => {
      const top = heap[0];
      size--;
      if (size > 0) {
        const e = heap[size];
        const k = key[size];
        let i = 0;
        for (;;) {
          let c = 2 * i + 1;
          if (c >= size) break;
          if (c + 1 < size && key[c + 1] > key[c]) c++;
          if (key[c] <= k) break;
          heap[i] = heap[c];
          key[i] = key[c];
          i = c;
        }
        heap[i] = e;
        key[i] = k;
      }
      return top;
    };
    if (hasPrev) {
      for (let m = 0; m < M; m++) if (magP[m] >= thr) push(m, sP[m]);
    }
    let orderBuilt = false;
    let orderPos = 0;
    let orderLen = 0;
    while (remaining > 0) {
      while (size > 0) {
        const e = pop();
        if (e < M) {
          if (phase[e] !== phase[e]) {
            phase[e] = wrap(phaseP[e] + 0.5 * (dTP[e] + dT[e]));
            remaining--;
            push(M + e, sC[e]);
          }
          continue;
        }
        const m = e - M;
        const p = phase[m];
        if (m + 1 < M && phase[m + 1] !== phase[m + 1]) {
          phase[m + 1] = wrap(p + 0.5 * (dF[m] + dF[m + 1]));
          remaining--;
          push(M + m + 1, sC[m + 1]);
        }
        if (m > 0 && phase[m - 1] !== phase[m - 1]) {
          phase[m - 1] = wrap(p - 0.5 * (dF[m] + dF[m - 1]));
          remaining--;
          push(M + m - 1, sC[m - 1]);
        }
      }
      if (remaining === 0) break;
      // An island not connected to the previous frame: start from its largest coefficient.
      if (!orderBuilt) {
        orderLen = 0;
        for (let m = 0; m < M; m++) if (phase[m] !== phase[m]) this.order[orderLen++] = m;
        const ord = this.order.subarray(0, orderLen);
        ord.sort((x, y) => sC[y] - sC[x]);
        orderBuilt = true;
      }
      while (orderPos < orderLen && phase[this.order[orderPos]] === phase[this.order[orderPos]]) orderPos++;
      const seedBin = this.order[orderPos];
      phase[seedBin] = hasPrev ? wrap(phaseP[seedBin] + 0.5 * (dTP[seedBin] + dT[seedBin])) : 0;
      remaining--;
      push(M + seedBin, sC[seedBin]);
    }

    // Inverse FFT of (−1)^m · |c| · e^{iφ} and overlap-add.
    const N = this.N;
    const half = N >> 1;
    const { setup, buf, work } = pffftFrameScratch(N);
    const h = pffft.heapF32();
    const b = buf >> 2;
    h[b] = magC[0] * Math.cos(phase[0]);
    h[b + 1] = (half % 2 === 0 ? 1 : -1) * magC[half] * Math.cos(phase[half]);
    let sign = -1;
    for (let k = 1; k < half; k++) {
      const v = sign * magC[k];
      sign = -sign;
      h[b + 2 * k] = v * Math.cos(phase[k]);
      h[b + 2 * k + 1] = v * Math.sin(phase[k]);
    }
    pffft.transformOrdered(setup, buf, buf, work, 1);
    const hh = pffft.heapF32();
    const ola = this.ola;
    const ws = this.ws;
    for (let j = 0; j < N; j++) ola[j] += hh[b + j] * ws[j];
    this.synthesized++;
  }

  /**
   * Emit the padded samples that are final. During the stream: `[k·hop, (k+1)·hop)`
   * after frame `k = synthesized − 1` was added (then the accumulator moves on by
   * one hop). At the end (after that): the rest the frames cover, `[(k+1)·hop, k·hop + N)`,
   * normalised by the window-sum-square of frames `0..k` only. Samples before
   * padded index N/2 (before signal sample 0) are dropped.
   */
  private emit(end: boolean): Float32Array | null {
    const N = this.N;
    const a = this.hop;
    const half = N >> 1;
    const k = this.synthesized - 1;
    const base = end ? (k + 1) * a : k * a; // padded index of ola[0]
    const count = end ? N - a : a;
    const first = Math.max(0, Math.min(count, half - base));
    const res = count > first ? new Float32Array(count - first) : null;
    const ola = this.ola;
    const w = this.window;
    for (let j = first; j < count; j++) {
      const p = base + j;
      let inv: number;
      if (end) {
        let s = 0;
        for (let t = Math.max(0, Math.ceil((p - N + 1) / a)); t <= k; t++) s += w[p - t * a] * w[p - t * a];
        inv = s > 1e-8 ? 1 / s : 0;
      } else inv = p < N ? this.invWssStart[p] : this.invWssSteady[p % a];
      res![j - first] = ola[j] * inv;
    }
    this.emittedPadded = base + count;
    if (end) ola.fill(0);
    else {
      ola.copyWithin(0, a);
      ola.fill(0, N - a);
    }
    return res;
  }
}

const LOG_TINY = Math.log(1e-30);
const LN_1000 = Math.log(1000);
const TWO_PI = 2 * Math.PI;

function wrap(p: number): number {
  return p - TWO_PI * Math.round(p / TWO_PI);
}

function concat(parts: Float32Array[]): Float32Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
