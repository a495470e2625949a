/**
 * Fast Griffin-Lim and AGLA on several threads: the calling thread and one or more helper threads each iterate a
 * contiguous share of the frames (with ghost frames, `dsp/fgla-fused.ts`) and, after every pass, exchange the samples
 * beyond each boundary with their neighbours through one SharedArrayBuffer. The output is the same bytes as
 * {@link fgla} on one thread, for any number of threads (tested in `phase-threads.test.ts`).
 *
 * The calling thread blocks (`Atomics.wait`, in slices of {@link WAIT_SLICE_MS}) while it waits for its neighbour's
 * boundary samples, as the single-threaded `fgla` blocks it for the whole reconstruction. A helper that fails, or
 * makes no progress for {@link STALL_MS} (about a second once it has started: {@link RUNNING_STALL_MIN_MS}), makes
 * every part stop, and the calling thread computes the whole reconstruction itself, with the same result: a helper
 * never makes a render fail or differ.
 */
import { checkFglaOptions, fgla, type FglaOptions } from '../dsp/fgla.ts';
import { FusedChunk, planChunks, type ChunkPlan, type ChunkStart, type Step } from '../dsp/fgla-fused.ts';
import { createRng } from '../dsp/rng.ts';
import type { Magnitudes, StftConfig, Transform } from '../dsp/types.ts';

/**
 * Fewest own frames per thread worth splitting for (about 0.56 s at hop 256). Measured with two threads: 1 s of audio
 * (86 frames each) gained 6–13 %, 1.5 s and longer 1.3–1.9×.
 */
export const MIN_FRAMES_PER_THREAD = 96;
/**
 * Longest wait for a neighbour's next pass before giving up on it (default of `stallMs`). A pass takes about
 * 3 µs per frame and thread here (0.2 s for ten minutes of audio), so only a helper that died or hung waits this long.
 * It mostly covers a helper that has not started its part yet (still busy with other work).
 */
export const STALL_MS = 5_000;
/**
 * Once a neighbour has started its part (published its first pass), the wait for its next pass is limited to
 * `RUNNING_STALL_FACTOR` times its longest pass so far, at least {@link RUNNING_STALL_MIN_MS} and at most `stallMs`.
 * So a helper that dies mid-way (its exit cannot be seen while this thread waits) costs about a second, not
 * {@link STALL_MS}. A live helper that is merely descheduled that long costs a recomputation, never a wrong result.
 */
export const RUNNING_STALL_MIN_MS = 1_000;
export const RUNNING_STALL_FACTOR = 50;
/** Slice of one `Atomics.wait`, between checks of the stop flags. */
const WAIT_SLICE_MS = 50;

/**
 * Layout of the shared buffer: Int32 control words, then the boundary regions.
 * - word 0, Stop: set to make every part stop (abort, or the calling thread gave up);
 * - word 1, Failed: set by a helper that failed;
 * - words 2 + p: passes published by part p.
 * Regions: for each boundary b (between parts b and b + 1), each pass parity and each direction (0: part b to part
 * b + 1, 1: back), `regionLength` floats.
 */
const STOP = 0;
const FAILED = 1;
const PASSES = 2;

/** Bytes of the control words for `parts` parts, rounded up to 16. */
function ctlBytes(parts: number): number {
  return Math.ceil(((PASSES + parts) * 4) / 16) * 16;
}

/** A helper's share of a split reconstruction, as posted to it (arrays transferred). */
export interface PhasePartRequest {
  type: 'phase-part';
  sab: SharedArrayBuffer;
  /** This part's index (1 .. parts − 1; the calling thread runs part 0) and the number of parts. */
  part: number;
  parts: number;
  /** Floats per boundary region. */
  regionLength: number;
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

/** Thrown when another part stopped, failed or stalled. */
class PartnerLost extends Error {}

/**
 * One part's view of the shared buffer: after each pass, publish what each neighbour needs, wait for the neighbours'
 * same pass, take what they published. Double-buffered by pass parity: a part is at most one pass ahead of a
 * neighbour, since it waits for both every pass.
 */
class Link {
  private readonly ctl: Int32Array;
  private readonly neighbours: number[];
  /** Per neighbour: when this part last finished waiting for it, and the longest time between two such moments. */
  private readonly seenAt: number[];
  private readonly longest: number[];

  constructor(
    private readonly sab: SharedArrayBuffer,
    private readonly part: number,
    private readonly parts: number,
    private readonly regionLength: number,
    private readonly stallMs = STALL_MS,
  ) {
    this.ctl = new Int32Array(sab, 0, PASSES + parts);
    this.neighbours = [part - 1, part + 1].filter((q) => q >= 0 && q < parts);
    this.seenAt = new Array<number>(parts).fill(0);
    this.longest = new Array<number>(parts).fill(0);
  }

  /** How long to wait for part `q`, which has published `seen` passes, before giving up on it. */
  private limit(q: number, seen: number): number {
    if (seen < 1) return this.stallMs;
    return Math.min(this.stallMs, Math.max(RUNNING_STALL_MIN_MS, RUNNING_STALL_FACTOR * this.longest[q]));
  }

  /**
   * Note that part `q`'s pass of this exchange arrived at time `now`. The time between two exchanges bounds a pass of
   * the slower of the two parts.
   */
  private arrived(q: number, now: number): void {
    if (this.seenAt[q] > 0) this.longest[q] = Math.max(this.longest[q], now - this.seenAt[q]);
    this.seenAt[q] = now;
  }

  static bytes(parts: number, regionLength: number): number {
    return ctlBytes(parts) + (parts - 1) * 4 * regionLength * 4;
  }

  /** The region of boundary `b`, pass `k`'s parity, direction `dir` (0: rightwards, 1: leftwards). */
  private region(b: number, k: number, dir: 0 | 1): Float32Array {
    const index = (b * 2 + (k & 1)) * 2 + dir;
    return new Float32Array(this.sab, ctlBytes(this.parts) + index * this.regionLength * 4, this.regionLength);
  }

  /**
   * After pass `k` (0 = the start): send `out.left` / `out.right` to the neighbours, then fill `into.left()` /
   * `into.right()` with theirs (sides without a neighbour are null).
   */
  exchange(
    k: number,
    out: { left: Float32Array | null; right: Float32Array | null },
    into: { left: () => Float32Array; right: () => Float32Array },
  ): void {
    const p = this.part;
    if (out.left) this.region(p - 1, k, 1).set(out.left);
    if (out.right) this.region(p, k, 0).set(out.right);
    Atomics.store(this.ctl, PASSES + p, k + 1);
    Atomics.notify(this.ctl, PASSES + p);
    for (const q of this.neighbours) {
      let last = performance.now();
      for (;;) {
        const seen = Atomics.load(this.ctl, PASSES + q);
        if (seen >= k + 1) {
          if (seen >= 2) this.arrived(q, performance.now());
          break;
        }
        if (Atomics.load(this.ctl, STOP) !== 0 || Atomics.load(this.ctl, FAILED) !== 0) throw new PartnerLost('stopped');
        const limit = this.limit(q, seen);
        if (Atomics.wait(this.ctl, PASSES + q, seen, WAIT_SLICE_MS) === 'timed-out' && performance.now() - last > limit) {
          throw new PartnerLost(`no progress from part ${q} for ${limit / 1000} s`);
        }
        if (Atomics.load(this.ctl, PASSES + q) !== seen) last = performance.now();
      }
    }
    if (p > 0) into.left().set(this.region(p - 1, k, 0));
    if (p < this.parts - 1) into.right().set(this.region(p, k, 1));
  }

  /** Raise a flag that makes every part stop waiting. */
  stop(flag: typeof STOP | typeof FAILED): void {
    Atomics.store(this.ctl, flag, 1);
    for (let q = 0; q < this.parts; q++) Atomics.notify(this.ctl, PASSES + q);
  }
}

/** Run one part's passes with the link; returns its output samples. */
function runPart(chunk: FusedChunk, plan: ChunkPlan, link: Link, iterations: number, each?: (it: number) => void): Float32Array {
  const exchange = (k: number) =>
    link.exchange(
      k,
      { left: plan.send.left && chunk.signal(plan.send.left), right: plan.send.right && chunk.signal(plan.send.right) },
      { left: () => chunk.signal(plan.receive.left!), right: () => chunk.signal(plan.receive.right!) },
    );
  chunk.startPass();
  exchange(0);
  for (let it = 0; it < iterations; it++) {
    each?.(it);
    chunk.iterate(it);
    exchange(it + 1);
  }
  return Float32Array.from(chunk.signal(plan.output));
}

/**
 * A helper thread's side: run one part of a split reconstruction. On failure it raises the shared `Failed` flag
 * (so that the other parts stop waiting) and rethrows.
 * @returns The part's output samples (padded coordinates `plan.output`).
 */
export function runPhasePart(req: PhasePartRequest): Float32Array {
  const link = new Link(req.sab, req.part, req.parts, req.regionLength);
  let chunk: FusedChunk | null = null;
  try {
    chunk = FusedChunk.create({
      cfg: req.cfg, totalFrames: req.totalFrames, length: req.length, first: req.plan.first, count: req.plan.count,
      mag: req.mag, start: req.start, step: req.step,
    });
    if (!chunk) throw new Error('the WebAssembly heap cannot hold this part');
    return runPart(chunk, req.plan, link, req.iterations);
  } catch (e) {
    link.stop(FAILED);
    throw e;
  } finally {
    chunk?.free();
  }
}

/** Posts one part to a helper thread and resolves with its output samples. */
export type PhasePartRunner = (req: PhasePartRequest, transfer: ArrayBuffer[]) => Promise<Float32Array>;

/**
 * {@link fgla} on the calling thread and `helpers`, when it pays: an STFT transform on the fused path, no coefficients
 * wanted, and at least {@link MIN_FRAMES_PER_THREAD} frames per thread (fewer helpers are used for shorter signals);
 * otherwise, or when a helper fails, on this thread alone. Same arguments, same result.
 *
 * @param helpers Runners of parts on other threads, one each (empty: one thread).
 * @param tuning.stallMs Give up on the helpers after this long without progress (default {@link STALL_MS}).
 * @param tuning.onSplit Called with the number of threads used when the result is ready.
 */
export async function fglaOnThreads(
  mag: Magnitudes,
  transform: Transform,
  length: number,
  opts: FglaOptions,
  helpers: readonly PhasePartRunner[],
  tuning: { stallMs?: number; onSplit?: (threads: number) => void } = {},
): Promise<Float32Array> {
  const single = () => {
    const out = fgla(mag, transform, length, opts);
    tuning.onSplit?.(1);
    return out;
  };
  // The same checks and words as fgla (bad input throws here as it would there).
  const { iterations, step, init, seed, path, isStft } = checkFglaOptions(mag, transform, length, opts);
  const cfg = transform.config as StftConfig;
  const parts = Math.min(1 + helpers.length, Math.floor(mag.frames / MIN_FRAMES_PER_THREAD));
  const plans = isStft && path === 'auto' && iterations > 0 && parts >= 2 ? planChunks(mag.frames, cfg, parts, MIN_FRAMES_PER_THREAD) : null;
  if (!plans) return single();
  opts.signal?.throwIfAborted();
  const bins = mag.bins;
  const rows = (a: Float32Array, p: ChunkPlan) => a.subarray(p.first * bins, (p.first + p.count) * bins);
  // Each part's start: the given phase rows, zero, or the random stream from its first coefficient on (one draw per
  // coefficient, as the single-thread path draws them).
  const rng = init === 'random' ? createRng(seed) : null;
  let drawn = 0;
  const startOf = (p: ChunkPlan): ChunkStart => {
    if (init === 'zero') return { kind: 'zero' };
    if (rng) {
      for (; drawn < p.first * bins; drawn++) rng();
      return { kind: 'random', state: rng.state() };
    }
    const given = init as Exclude<typeof init, 'random' | 'zero'>;
    return { kind: 'given', re: rows(given.re, p), im: rows(given.im, p) };
  };
  const regionLength = plans[0].send.right!.count;
  const sab = new SharedArrayBuffer(Link.bytes(parts, regionLength));
  const link = new Link(sab, 0, parts, regionLength, tuning.stallMs);
  const start0 = startOf(plans[0]);

  const remotes = plans.slice(1).map((plan, i) => {
    const part = i + 1;
    const start = startOf(plan);
    const req: PhasePartRequest = {
      type: 'phase-part', sab, part, parts, regionLength, cfg, totalFrames: mag.frames, length, plan, step, iterations,
      mag: rows(mag.data, plan).slice(),
      start: start.kind === 'given' ? { kind: 'given', re: start.re.slice(), im: start.im.slice() } : start,
    };
    const transfer = [req.mag.buffer as ArrayBuffer, ...(req.start.kind === 'given' ? [req.start.re.buffer as ArrayBuffer, req.start.im.buffer as ArrayBuffer] : [])];
    return helpers[i](req, transfer).then((out) => ({ out }), (error: Error) => ({ error }));
  });

  const chunk = FusedChunk.create({
    cfg, totalFrames: mag.frames, length, first: plans[0].first, count: plans[0].count, step, mag: rows(mag.data, plans[0]), start: start0,
  });
  // On every way out but success, the helpers are told to stop and not waited for: one that has not started its
  // part yet (busy with other work) drops it as soon as it starts, and its failure is already handled.
  if (!chunk) {
    link.stop(STOP);
    return single();
  }
  let own: Float32Array;
  try {
    own = runPart(chunk, plans[0], link, iterations, (it) => {
      if (it > 0) opts.onProgress?.(it, iterations);
      opts.signal?.throwIfAborted();
    });
  } catch (e) {
    link.stop(STOP);
    if (e instanceof PartnerLost) return single();
    throw e;
  } finally {
    chunk.free();
  }
  opts.onProgress?.(iterations, iterations);
  const results = await Promise.all(remotes);
  const half = cfg.nFft >> 1;
  const padded = new Float32Array((mag.frames - 1) * cfg.hop + cfg.nFft);
  padded.set(own, plans[0].output.start);
  for (const [i, r] of results.entries()) {
    const plan = plans[i + 1];
    if ('error' in r || r.out.length !== plan.output.count) return single();
    padded.set(r.out, plan.output.start);
  }
  tuning.onSplit?.(parts);
  const out = new Float32Array(length);
  out.set(padded.subarray(half, Math.min(padded.length, half + length)));
  return out;
}
