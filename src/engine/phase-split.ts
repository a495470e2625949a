/**
 * Fast Griffin-Lim and AGLA on two threads: the calling thread and one helper thread each iterate half of the frames
 * (with ghost frames, `dsp/fgla-fused.ts`) and exchange the samples beyond their boundary after every pass through a
 * SharedArrayBuffer. The output is the same bytes as {@link fgla} on one thread (tested in `phase-threads.test.ts`).
 *
 * The calling thread blocks (`Atomics.wait`, in slices of {@link WAIT_SLICE_MS}) while it waits for the helper's
 * boundary samples, as the single-threaded `fgla` blocks it for the whole reconstruction. A helper that fails, or
 * makes no progress for {@link STALL_MS}, is told to stop and the calling thread computes the whole reconstruction
 * itself, with the same result: a helper never makes a render fail or differ.
 */
import { fgla, type FglaOptions } from '../dsp/fgla.ts';
import { FusedChunk, planChunks, type ChunkPlan, type ChunkStart, type SampleRange, type Step } from '../dsp/fgla-fused.ts';
import { checkAcceleration } from '../dsp/phase-settings.ts';
import { checkCoefficients, checkMagnitudes } from '../dsp/coefficients.ts';
import { createRng } from '../dsp/rng.ts';
import type { Magnitudes, StftConfig, Transform } from '../dsp/types.ts';

/** Fewest own frames per thread worth splitting for (about 0.56 s at hop 256; measured: 1 s of audio, 86 frames each, gained 6-13 %, 1.5 s and longer 1.66-1.87x). */
export const MIN_FRAMES_PER_THREAD = 96;
/**
 * Longest wait for the other thread's next pass before giving up on it (default of `stallMs`). A pass takes about
 * 3 µs per frame and thread here (0.2 s for ten minutes of audio), so only a helper that died or hung waits this long.
 */
export const STALL_MS = 5_000;
/** Slice of one `Atomics.wait`, between checks of the stop flags. */
const WAIT_SLICE_MS = 50;

/**
 * Control words at the start of the shared buffer: passes published by part 0 and by part 1; Stop, set to make both
 * parts stop (abort, or the calling thread gave up); Failed, set by the helper when it failed.
 */
const Ctl = { Passes0: 0, Passes1: 1, Stop: 2, Failed: 3 } as const;
const CTL_BYTES = 16;

/** The helper's half of a split reconstruction, as posted to it (arrays transferred). */
export interface PhasePartRequest {
  type: 'phase-part';
  sab: SharedArrayBuffer;
  cfg: StftConfig;
  totalFrames: number;
  length: number;
  plan: ChunkPlan;
  /** The part's magnitudes (its frames only). */
  mag: Float32Array;
  /** The part's start (the rows of its frames for a given phase). */
  start: ChunkStart;
  step: Step;
  iterations: number;
}

/** Thrown when the other thread stopped, failed or stalled. */
class PartnerLost extends Error {}

/**
 * One side of the shared-memory link: after each pass, publish what the neighbour needs, wait for the neighbour's
 * pass, take what it published. Double-buffered by pass parity: a part can be one pass ahead of the other at most.
 */
class Link {
  private readonly ctl: Int32Array;
  private readonly regions: Float32Array[];

  constructor(sab: SharedArrayBuffer, private readonly part: 0 | 1, private readonly regionLength: number, private readonly stallMs = STALL_MS) {
    this.ctl = new Int32Array(sab, 0, 4);
    // [parity][sender]
    this.regions = [0, 1, 2, 3].map((k) => new Float32Array(sab, CTL_BYTES + k * regionLength * 4, regionLength));
  }

  static bytes(regionLength: number): number {
    return CTL_BYTES + 4 * regionLength * 4;
  }

  /** After pass `k` (0 = the start): send `out`, then fill `into` with the neighbour's samples of the same pass. */
  exchange(k: number, out: Float32Array, into: () => Float32Array): void {
    const me = this.part;
    const other = 1 - me;
    this.regions[(k & 1) * 2 + me].set(out);
    Atomics.store(this.ctl, me, k + 1);
    Atomics.notify(this.ctl, me);
    let last = performance.now();
    for (;;) {
      const seen = Atomics.load(this.ctl, other);
      if (seen >= k + 1) break;
      if (Atomics.load(this.ctl, Ctl.Stop) !== 0 || Atomics.load(this.ctl, Ctl.Failed) !== 0) throw new PartnerLost('stopped');
      if (Atomics.wait(this.ctl, other, seen, WAIT_SLICE_MS) === 'timed-out' && performance.now() - last > this.stallMs) {
        throw new PartnerLost(`no progress from the other thread for ${this.stallMs / 1000} s`);
      }
      if (Atomics.load(this.ctl, other) !== seen) last = performance.now();
    }
    into().set(this.regions[(k & 1) * 2 + other]);
  }

  stop(flag: typeof Ctl.Stop | typeof Ctl.Failed): void {
    Atomics.store(this.ctl, flag, 1);
    Atomics.notify(this.ctl, Ctl.Passes0);
    Atomics.notify(this.ctl, Ctl.Passes1);
  }
}

/** Run one part's passes with the link; returns its output samples. */
function runPart(chunk: FusedChunk, plan: ChunkPlan, part: 0 | 1, link: Link, iterations: number, each?: (it: number) => void): Float32Array {
  const send = (part === 0 ? plan.send.right : plan.send.left) as SampleRange;
  const receive = (part === 0 ? plan.receive.right : plan.receive.left) as SampleRange;
  chunk.startPass();
  link.exchange(0, chunk.signal(send), () => chunk.signal(receive));
  for (let it = 0; it < iterations; it++) {
    each?.(it);
    chunk.iterate(it);
    link.exchange(it + 1, chunk.signal(send), () => chunk.signal(receive));
  }
  return Float32Array.from(chunk.signal(plan.output));
}

/**
 * The helper thread's side: run part 1 of a split reconstruction. On failure it raises the shared `Failed` flag
 * (so that the calling thread stops waiting) and rethrows.
 * @returns Part 1's output samples (padded coordinates `plan.output`).
 */
export function runPhasePart(req: PhasePartRequest): Float32Array {
  const link = new Link(req.sab, 1, req.plan.receive.left!.count);
  let chunk: FusedChunk | null = null;
  try {
    chunk = FusedChunk.create({
      cfg: req.cfg, totalFrames: req.totalFrames, length: req.length, first: req.plan.first, count: req.plan.count,
      mag: req.mag, start: req.start, step: req.step,
    });
    if (!chunk) throw new Error('the WebAssembly heap cannot hold this part');
    return runPart(chunk, req.plan, 1, link, req.iterations);
  } catch (e) {
    link.stop(Ctl.Failed);
    throw e;
  } finally {
    chunk?.free();
  }
}

/** Posts part 1 to a helper thread and resolves with its output samples. */
export type PhasePartRunner = (req: PhasePartRequest, transfer: ArrayBuffer[]) => Promise<Float32Array>;

/**
 * {@link fgla} on two threads when it pays: an STFT transform on the fused path, no coefficients wanted, and at least
 * {@link MIN_FRAMES_PER_THREAD} frames per thread; otherwise (or when the helper fails) on this thread alone. Same
 * arguments, same result.
 *
 * @param helper Runs part 1 on another thread, or null for one thread.
 * @param tuning.stallMs Give up on the helper after this long without progress (default {@link STALL_MS}).
 * @param tuning.onSplit Called with the number of threads used (1 or 2) when the result is ready.
 */
export async function fglaTwoThreads(
  mag: Magnitudes,
  transform: Transform,
  length: number,
  opts: FglaOptions,
  helper: PhasePartRunner | null,
  tuning: { stallMs?: number; onSplit?: (threads: 1 | 2) => void } = {},
): Promise<Float32Array> {
  const single = () => {
    const out = fgla(mag, transform, length, opts);
    tuning.onSplit?.(1);
    return out;
  };
  const cfg = transform.config as StftConfig;
  const plans = helper && cfg.kind === 'stft' && (opts.path ?? 'auto') === 'auto' && Number.isInteger(opts.iterations) && opts.iterations > 0
    ? planChunks(mag.frames, cfg, 2, MIN_FRAMES_PER_THREAD)
    : null;
  if (!helper || !plans || mag.bins !== transform.bins || transform.frameCount(length) !== mag.frames) return single();
  opts.signal?.throwIfAborted();
  const momentum = opts.momentum ?? 0.99;
  const init = opts.init ?? 'random';
  const bins = mag.bins;
  try {
    checkMagnitudes(mag, 'fgla magnitudes');
    checkAcceleration(opts.acceleration ?? { beta: 1, gamma: 1 }, 'fgla: acceleration');
    if (!Number.isFinite(momentum) || momentum < 0) throw new Error('momentum');
    if (typeof init === 'object') {
      checkCoefficients(init, 'fgla init');
      if (init.frames !== mag.frames || init.bins !== bins) throw new Error('init shape');
    } else if (init !== 'random' && init !== 'zero') throw new Error('init');
  } catch {
    return single(); // fgla's own one-line error for whatever is wrong
  }
  const step: Step = { momentum, accel: opts.acceleration === undefined ? null : { ...opts.acceleration } };
  const rows = (a: Float32Array, p: ChunkPlan) => a.subarray(p.first * bins, (p.first + p.count) * bins);
  const [p0, p1] = plans;
  // Each part's start: the given phase rows, zero, or the random stream from its first coefficient on (one draw per
  // coefficient, as the single-thread path draws them).
  const startOf = (p: ChunkPlan): ChunkStart => {
    if (init === 'zero') return { kind: 'zero' };
    if (init === 'random') {
      const rng = createRng(opts.seed ?? 0);
      for (let i = p.first * bins; i > 0; i--) rng();
      return { kind: 'random', state: rng.state() };
    }
    return { kind: 'given', re: rows(init.re, p), im: rows(init.im, p) };
  };
  const regionLength = p0.send.right!.count;
  const sab = new SharedArrayBuffer(Link.bytes(regionLength));
  const link = new Link(sab, 0, regionLength, tuning.stallMs);

  const start1 = startOf(p1);
  const req: PhasePartRequest = {
    type: 'phase-part', sab, cfg, totalFrames: mag.frames, length, plan: p1, step, iterations: opts.iterations,
    mag: rows(mag.data, p1).slice(),
    start: start1.kind === 'given' ? { kind: 'given', re: start1.re.slice(), im: start1.im.slice() } : start1,
  };
  const transfer = [req.mag.buffer as ArrayBuffer, ...(req.start.kind === 'given' ? [req.start.re.buffer as ArrayBuffer, req.start.im.buffer as ArrayBuffer] : [])];
  const remote = helper(req, transfer).then((out) => ({ out }), (error: Error) => ({ error }));

  const chunk = FusedChunk.create({
    cfg, totalFrames: mag.frames, length, first: p0.first, count: p0.count, step,
    mag: rows(mag.data, p0),
    start: startOf(p0),
  });
  if (!chunk) {
    link.stop(Ctl.Stop);
    await remote;
    return single();
  }
  let own: Float32Array;
  try {
    own = runPart(chunk, p0, 0, link, opts.iterations, (it) => {
      if (it > 0) opts.onProgress?.(it, opts.iterations);
      opts.signal?.throwIfAborted();
    });
  } catch (e) {
    link.stop(Ctl.Stop);
    await remote;
    if (e instanceof PartnerLost) return single();
    throw e;
  } finally {
    chunk.free();
  }
  opts.onProgress?.(opts.iterations, opts.iterations);
  const r = await remote;
  if ('error' in r || r.out.length !== p1.output.count) return single();
  const half = cfg.nFft >> 1;
  const padded = new Float32Array(p0.output.count + p1.output.count);
  padded.set(own, p0.output.start);
  padded.set(r.out, p1.output.start);
  tuning.onSplit?.(2);
  const out = new Float32Array(length);
  out.set(padded.subarray(half, Math.min(padded.length, half + length)));
  return out;
}
