/**
 * The fused (WebAssembly SIMD) path of Fast Griffin-Lim and AGLA (see `fgla.ts`), as a state that can also cover a
 * *chunk* of a longer signal, so that several threads can share one reconstruction and still produce the same bytes
 * as one thread.
 *
 * A {@link FusedChunk} holds the iteration state of frames `[first, first + count)` of a `totalFrames`-frame centred
 * STFT problem: target magnitudes, the previous analysis (and AGLA's d), and the current signal over the samples those
 * frames touch (padded coordinates: frame t covers samples `[t * hop, t * hop + nFft)`). Each pass analyses every
 * frame of the chunk from the current signal, applies the momentum (or AGLA) update and the magnitude projection, and
 * overlap-adds the frames into the next signal, in frame order: exactly the work one thread does on the whole signal.
 *
 * Splitting (domain decomposition with ghost frames): {@link planChunks} gives each part its own frames plus `G` ghost
 * frames on each side that touch a part boundary, `G = ceil(nFft / hop) - 1` (7 at 2048/256). A part computes its
 * ghost frames too (about `2G` frames of redundant work per boundary), so that every sample between its own first
 * frame and the end of its last own frame is summed from all the frames that touch it, in the same order as on one
 * thread. What a part cannot sum are the `G * hop` samples beyond each boundary; after every pass it takes them from
 * its neighbour, which has them complete ({@link ChunkPlan.receive}, {@link ChunkPlan.send}). Then the ghost frames'
 * next analyses, and so their state, are the same as their owner's, bit for bit. Every floating-point operation is the
 * one a single thread performs, in the same order, so the parts' outputs put together are the single-thread output.
 *
 * @module
 */
import type { StftConfig } from './types.ts';
import { hannWindow, validateStftConfig, windowSumSquare } from './stft.ts';
import { pffft } from './fft.ts';
import { stftKernels } from './wasm/stft-kernels.ts';
import type { Acceleration } from './phase-settings.ts';

/** The update rule: Fast Griffin-Lim with momentum alpha (accel null) or AGLA with alpha = momentum. */
export interface Step {
  momentum: number;
  accel: Acceleration | null;
}

/** Where a chunk's starting phase comes from (see `FglaOptions.init`). */
export type ChunkStart =
  /** Random unit phasors from the xoshiro128** `state` (`Rng.state()` of `rng.ts`) at the chunk's first coefficient. */
  | { kind: 'random'; state: readonly number[] }
  | { kind: 'zero' }
  /** The phase source of the chunk's frames only: `count * bins` values each, frame-major. */
  | { kind: 'given'; re: Float32Array; im: Float32Array };

/** Layout of PFFFT's unordered real spectrum of one size. */
interface UnorderedLayout {
  /** perm[u] = index in the ordered layout ([DC, Nyquist, re1, im1, re2, im2, ...]) of unordered float u. */
  perm: Int32Array;
  dcPos: number;
  nyPos: number;
}

const layouts = new Map<number, UnorderedLayout>();

/** Find (once per size) where every ordered spectrum value lives in PFFFT's unordered layout. */
function unorderedLayout(n: number): UnorderedLayout {
  let l = layouts.get(n);
  if (l) return l;
  const setup = pffft.setup(n, 'real');
  const buf = pffft.malloc(2 * n * 4);
  try {
    const h = pffft.heapF32();
    for (let i = 0; i < n; i++) h[(buf >> 2) + i] = i;
    pffft.zreorder(setup, buf, buf + 4 * n, 1);
    const perm = Int32Array.from(pffft.heapF32().subarray((buf >> 2) + n, (buf >> 2) + 2 * n));
    // Every block of 8 must hold 4 real parts then the matching 4 imaginary parts
    // (DC and Nyquist form one such pair: ordered indices 0 and 1).
    for (let b = 0; b < n; b += 8) {
      for (let j = 0; j < 4; j++) {
        if (perm[b + j] % 2 !== 0 || perm[b + 4 + j] !== perm[b + j] + 1) {
          throw new Error(`fgla: unexpected PFFFT unordered layout for size ${n}; use path: 'generic'`);
        }
      }
    }
    l = { perm, dcPos: perm.indexOf(0), nyPos: perm.indexOf(1) };
    layouts.set(n, l);
    return l;
  } finally {
    pffft.free(buf);
  }
}

/** A run of samples in padded coordinates (frame t covers `[t * hop, t * hop + nFft)`). */
export interface SampleRange {
  start: number;
  count: number;
}

/** One part of a split reconstruction (see the module documentation). */
export interface ChunkPlan {
  /** First frame of the chunk (own frames plus ghost frames). */
  first: number;
  /** Frames in the chunk. */
  count: number;
  /** The part's own frames `[ownFirst, ownEnd)`. */
  ownFirst: number;
  ownEnd: number;
  /** Output samples this part delivers (padded coordinates); the parts' outputs tile the whole padded signal. */
  output: SampleRange;
  /** Samples to take from the left and right neighbour after every pass (null at the ends). */
  receive: { left: SampleRange | null; right: SampleRange | null };
  /** Samples to give the left and right neighbour after every pass (their `receive.right` and `receive.left`). */
  send: { left: SampleRange | null; right: SampleRange | null };
}

/** Ghost frames a chunk needs on each side of a boundary: `ceil(nFft / hop) - 1`. */
export function ghostFrames(cfg: StftConfig): number {
  return Math.ceil(cfg.nFft / cfg.hop) - 1;
}

/**
 * Split `totalFrames` frames into `parts` contiguous parts of nearly equal size, each with its ghost frames and the
 * samples to exchange (see the module documentation).
 *
 * @param totalFrames Frames of the whole problem.
 * @param cfg The STFT configuration.
 * @param parts Number of parts, >= 1.
 * @param minOwn Fewest own frames a part may have (default and minimum `2 * G`, so that what a part sends is complete).
 * @returns The parts, or null when there are too few frames for `parts` parts.
 */
export function planChunks(totalFrames: number, cfg: StftConfig, parts: number, minOwn = 0): ChunkPlan[] | null {
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`planChunks: parts must be a whole number >= 1, got ${parts}`);
  const G = ghostFrames(cfg);
  const { nFft: N, hop } = cfg;
  if (Math.floor(totalFrames / parts) < Math.max(2 * G, minOwn, 1)) return null;
  const padLen = (totalFrames - 1) * hop + N;
  const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * totalFrames) / parts));
  const range = (start: number, end: number): SampleRange => ({ start, count: end - start });
  return Array.from({ length: parts }, (_, i) => {
    const a = bounds[i];
    const b = bounds[i + 1];
    const first = i === 0 ? 0 : a - G;
    const last = i === parts - 1 ? totalFrames : b + G;
    return {
      first,
      count: last - first,
      ownFirst: a,
      ownEnd: b,
      output: range(a * hop, i === parts - 1 ? padLen : b * hop),
      receive: {
        left: i === 0 ? null : range(first * hop, a * hop),
        right: i === parts - 1 ? null : range((b - 1) * hop + N, (last - 1) * hop + N),
      },
      send: {
        // what the left neighbour (own end a) lacks beyond its last own frame, and the right one (own start b) before its first
        left: i === 0 ? null : range((a - 1) * hop + N, (Math.min(totalFrames, a + G) - 1) * hop + N),
        right: i === parts - 1 ? null : range(Math.max(0, b - G) * hop, b * hop),
      },
    };
  });
}

/** Options of {@link FusedChunk.create}. */
export interface FusedChunkOptions {
  cfg: StftConfig;
  /** Frames of the whole problem. */
  totalFrames: number;
  /** Output length in samples of the whole problem. */
  length: number;
  /** The chunk: frames `[first, first + count)` (the whole problem: 0 and `totalFrames`). */
  first: number;
  count: number;
  /** Target magnitudes of the chunk's frames, `count * (nFft/2 + 1)` values, frame-major. */
  mag: Float32Array;
  /** The starting phase. */
  start: ChunkStart;
  step: Step;
  /** Keep room for the projected coefficients of one pass ({@link FusedChunk.coefficients}). */
  wantCoefficients?: boolean;
}

/** The fused iteration state of one chunk (see the module documentation). */
export class FusedChunk {
  private yOld: number;
  private yNew: number;
  private readonly beta: number;

  private constructor(
    private readonly o: FusedChunkOptions,
    private base: number,
    private readonly offsets: Record<BufferName, number>,
    private readonly setup: number,
    private readonly layout: UnorderedLayout,
  ) {
    this.yOld = this.ptr('yA');
    this.yNew = this.ptr('yB');
    this.beta = o.step.momentum / (1 + o.step.momentum);
  }

  /**
   * Allocate a chunk's state in PFFFT's WebAssembly heap and lay out its start.
   * @returns The chunk, or null when the heap (2 GiB, shared with PFFFT) cannot hold it (about 12 KiB per frame at
   *   nFft 2048, i.e. beyond ~15 minutes); the caller then uses the generic path.
   */
  static create(o: FusedChunkOptions): FusedChunk | null {
    const { cfg, totalFrames, first, count, length } = o;
    validateStftConfig(cfg);
    const N = cfg.nFft;
    const hop = cfg.hop;
    const half = N >> 1;
    const bins = half + 1;
    if (!(Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 1 && first + count <= totalFrames)) {
      throw new Error(`FusedChunk: frames [${first}, ${first + count}) are not within the ${totalFrames} frames`);
    }
    if (o.mag.length !== count * bins) throw new Error(`FusedChunk: ${o.mag.length} magnitudes for ${count} frames of ${bins} bins`);
    const padLen = (count - 1) * hop + N;
    const layout = unorderedLayout(N);
    const setup = pffft.setup(N, 'real');

    // One allocation, carved into 16-byte aligned float buffers. The start is laid
    // out in chunks of frames through `start` (ordered magnitudes and phase source).
    const CHUNK = Math.min(count, 256);
    const sizes: Record<BufferName, number> = {
      win: N, invWss: padLen, mag: count * half, magEdge: 2 * count, prev: count * N, d: o.step.accel ? count * N : 0,
      yA: padLen, yB: padLen, frame: N, spec: N, work: N, rngState: 4,
      start: 3 * CHUNK * bins, cOut: o.wantCoefficients ? count * N : 0,
    };
    const offsets = {} as Record<BufferName, number>;
    let total = 0;
    for (const k of BUFFERS) {
      offsets[k] = total;
      total += Math.ceil(sizes[k] / 4) * 4;
    }
    const base = pffft.tryMalloc(total * 4);
    if (base === 0) return null;
    const chunk = new FusedChunk(o, base, offsets, setup, layout);
    try {
      chunk.layOut(padLen, CHUNK);
    } catch (e) {
      chunk.free();
      throw e;
    }
    return chunk;
  }

  private ptr(k: BufferName): number {
    return this.base + this.offsets[k] * 4;
  }

  private at(k: BufferName): number {
    return (this.base >> 2) + this.offsets[k];
  }

  private layOut(padLen: number, CHUNK: number): void {
    const { cfg, totalFrames, first, count, length, start } = this.o;
    const N = cfg.nFft;
    const hop = cfg.hop;
    const half = N >> 1;
    const bins = half + 1;
    const h = pffft.heapF32();
    h.fill(0, this.at('invWss'), this.at('invWss') + padLen);
    h.fill(0, this.at('yA'), this.at('yA') + padLen);
    h.fill(0, this.at('yB'), this.at('yB') + padLen);
    h.set(hannWindow(N), this.at('win'));
    // 1 / (N * window sum square) of the whole problem, inside the signal [half, half + length); 0 in the padding.
    const wss = windowSumSquare(totalFrames, cfg);
    const iw = this.at('invWss');
    const g0 = first * hop;
    const end = Math.min((totalFrames - 1) * hop + N, half + length);
    for (let i = Math.max(0, half - g0); i < padLen && g0 + i < end; i++) {
      const w = wss[g0 + i];
      h[iw + i] = w > 1e-8 ? 1 / (N * w) : 0;
    }

    const st = this.at('start');
    const sp = this.ptr('start');
    if (start.kind === 'random') new Uint32Array(pffft.memory.buffer, this.ptr('rngState'), 4).set(start.state);
    for (let t0 = 0; t0 < count; t0 += CHUNK) {
      const frames = Math.min(CHUNK, count - t0);
      const nb = frames * bins;
      const from = t0 * bins;
      const hh = pffft.heapF32();
      hh.set(this.o.mag.subarray(from, from + nb), st);
      if (start.kind === 'random') {
        stftKernels.randomPhasors(this.ptr('rngState'), nb, sp + 4 * nb, sp + 8 * nb, stftKernels.phasorTable);
      } else if (start.kind === 'zero') {
        hh.fill(1, st + nb, st + 2 * nb);
        hh.fill(0, st + 2 * nb, st + 3 * nb);
      } else {
        hh.set(start.re.subarray(from, from + nb), st + nb);
        hh.set(start.im.subarray(from, from + nb), st + 2 * nb);
      }
      stftKernels.fglaStart(
        this.setup, N, frames, sp, sp + 4 * nb, sp + 8 * nb,
        this.ptr('prev') + 4 * t0 * N, this.ptr('mag') + 4 * t0 * half, this.ptr('magEdge') + 8 * t0, this.ptr('frame'), this.ptr('spec'),
      );
    }
  }

  /** Each pass reads yOld and leaves the new signal in yNew: swap them after it. */
  private swap(): void {
    const tmp = this.yOld;
    this.yOld = this.yNew;
    this.yNew = tmp;
  }

  private fglaPass(mode: number, beta: number, cOut: number): void {
    const { cfg, count } = this.o;
    stftKernels.fglaPass(
      this.setup, cfg.nFft, cfg.hop, count, this.ptr('win'), this.ptr('invWss'), this.ptr('mag'), this.ptr('magEdge'), this.ptr('prev'),
      this.yOld, this.yNew, this.ptr('frame'), this.ptr('spec'), this.ptr('work'), beta, mode, cOut, this.layout.dcPos, this.layout.nyPos,
    );
    this.swap();
  }

  private aglaPass(a: Acceleration, cOut: number): void {
    const { cfg, count } = this.o;
    stftKernels.aglaPass(
      this.setup, cfg.nFft, cfg.hop, count, this.ptr('win'), this.ptr('invWss'), this.ptr('mag'), this.ptr('magEdge'), this.ptr('prev'), this.ptr('d'),
      this.yOld, this.yNew, this.ptr('frame'), this.ptr('spec'), this.ptr('work'), this.o.step.momentum, a.beta, a.gamma, cOut,
      this.layout.dcPos, this.layout.nyPos,
    );
    this.swap();
  }

  /**
   * The first pass: synthesise the starting coefficients, then clear the previous analysis.
   * @param keepCoefficients Copy the coefficients synthesised ({@link coefficients}); needs `wantCoefficients`.
   */
  startPass(keepCoefficients = false): void {
    this.fglaPass(1, 0, keepCoefficients ? this.ptr('cOut') : 0);
    const pv = this.at('prev');
    pffft.heapF32().fill(0, pv, pv + this.o.count * this.o.cfg.nFft);
  }

  /**
   * Iteration `it` (0-based): one FGLA pass, or AGLA's (whose first iteration is the FGLA pass from prev = 0,
   * after which prev, that is t, is copied to d).
   * @param keepCoefficients Copy the projected coefficients of this pass ({@link coefficients}).
   */
  iterate(it: number, keepCoefficients = false): void {
    const cOut = keepCoefficients ? this.ptr('cOut') : 0;
    const { accel } = this.o.step;
    if (accel && it > 0) this.aglaPass(accel, cOut);
    else {
      this.fglaPass(0, this.beta, cOut);
      // AGLA's first iteration is this one from prev = 0 (c = y); then t (kept in prev) = d = y.
      if (accel) {
        const pv = this.at('prev');
        pffft.heapF32().copyWithin(this.at('d'), pv, pv + this.o.count * this.o.cfg.nFft);
      }
    }
  }

  /**
   * The current signal over `range` (padded coordinates of the whole problem; it must lie within the chunk's
   * samples), as a view into the WebAssembly heap: read it to send, write it to receive. Valid until the next
   * allocation in the heap.
   */
  signal(range: SampleRange): Float32Array {
    const g0 = this.o.first * this.o.cfg.hop;
    const padLen = (this.o.count - 1) * this.o.cfg.hop + this.o.cfg.nFft;
    const i = range.start - g0;
    if (i < 0 || i + range.count > padLen) {
      throw new Error(`FusedChunk: samples [${range.start}, ${range.start + range.count}) are outside the chunk's [${g0}, ${g0 + padLen})`);
    }
    const y = (this.yOld >> 2) + i;
    return pffft.heapF32().subarray(y, y + range.count);
  }

  /** The whole problem's output, `length` samples (padded samples `[nFft/2, nFft/2 + length)`), for a chunk that covers it all. */
  output(): Float32Array {
    const { cfg, length, totalFrames, count } = this.o;
    if (this.o.first !== 0 || count !== totalFrames) throw new Error('FusedChunk.output: the chunk does not cover the whole signal; use signal()');
    const half = cfg.nFft >> 1;
    const padLen = (count - 1) * cfg.hop + cfg.nFft;
    const out = new Float32Array(length);
    out.set(this.signal({ start: half, count: Math.min(length, padLen - half) }));
    return out;
  }

  /** The projected coefficients kept by the last pass asked to keep them, ordered, `count * bins` values frame-major. */
  coefficients(): { re: Float32Array; im: Float32Array } {
    const N = this.o.cfg.nFft;
    const half = N >> 1;
    const bins = half + 1;
    const T = this.o.count;
    const re = new Float32Array(T * bins);
    const im = new Float32Array(T * bins);
    const hf = pffft.heapF32();
    const co = this.at('cOut');
    const { perm } = this.layout;
    for (let t = 0; t < T; t++) {
      const row = t * bins;
      const crow = co + t * N;
      for (let u = 0; u < N; u++) {
        const o = perm[u];
        const v = hf[crow + u];
        if (o === 0) re[row] = v;
        else if (o === 1) re[row + half] = v;
        else if (o & 1) im[row + (o >> 1)] = v;
        else re[row + (o >> 1)] = v;
      }
    }
    return { re, im };
  }

  /** Release the chunk's WebAssembly memory (once). */
  free(): void {
    if (this.base !== 0) pffft.free(this.base);
    this.base = 0;
  }
}

const BUFFERS = ['win', 'invWss', 'mag', 'magEdge', 'prev', 'd', 'yA', 'yB', 'frame', 'spec', 'work', 'rngState', 'start', 'cOut'] as const;
type BufferName = (typeof BUFFERS)[number];
