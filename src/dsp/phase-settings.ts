/**
 * The names, defaults and checks of the phase-reconstruction settings, without the algorithms.
 *
 * `phase.ts`, `fgla.ts` and `pghi.ts` re-export everything here; this module exists so that code which only needs the
 * names and defaults (the instrument's first screen, render settings, sessions) does not load the FFT and the
 * WebAssembly kernels. It imports nothing but the error class.
 */
import { UserError } from '../io/errors.ts';

/**
 * A phase-reconstruction method (see `phase.ts`): `'fgla'` Fast Griffin-Lim (Perraudin, Balazs, Søndergaard,
 * WASPAA 2013), `'agla'` the accelerated Griffin-Lim algorithm (Nenov, Nguyen, Balazs, ICASSP 2023), `'pghi'` Phase
 * Gradient Heap Integration (Průša, Balazs, Søndergaard, IEEE/ACM TASLP 2017), and PGHI as the start of either.
 */
export type PhaseMethod = 'fgla' | 'agla' | 'pghi' | 'pghi+fgla' | 'pghi+agla';

/** Every {@link PhaseMethod}, in the order shown to users. */
export const PHASE_METHODS: readonly PhaseMethod[] = Object.freeze(['fgla', 'agla', 'pghi', 'pghi+fgla', 'pghi+agla'] as const);

/** Whether a method iterates with the accelerated Griffin-Lim algorithm (and so uses `acceleration`). */
export function usesAcceleration(method: PhaseMethod): boolean {
  return method === 'agla' || method === 'pghi+agla';
}

/**
 * Parse a method name as typed by a user (`--phase NAME`), case-insensitive,
 * surrounding spaces ignored.
 *
 * @param s The name, e.g. `"pghi+fgla"`.
 * @returns The method.
 * @throws UserError naming the valid choices for anything else.
 */
export function parsePhaseMethod(s: string): PhaseMethod {
  const v = String(s).trim().toLowerCase();
  const found = PHASE_METHODS.find((m) => m === v);
  if (found === undefined) {
    throw new UserError(`unknown phase method "${s}"; use one of: ${PHASE_METHODS.join(', ')}`);
  }
  return found;
}

/** The two parameters the accelerated Griffin-Lim algorithm adds to Fast Griffin-Lim's momentum alpha. */
export interface Acceleration {
  /** Inertia of the auxiliary sequence d, finite and >= 0 (default 1.25). */
  beta: number;
  /** Relaxation towards the new projection, finite and in (0, 2] (default 1.25; 1 gives Fast Griffin-Lim). */
  gamma: number;
}

/** AGLA's beta and gamma, chosen by measurement (see the module comment of `fgla.ts`). */
export const DEFAULT_ACCELERATION: Readonly<Acceleration> = Object.freeze({ beta: 1.25, gamma: 1.25 });

/**
 * Check an {@link Acceleration}; returns it, or throws one line naming the bad value.
 * @param a The value to check (from options or a sidecar).
 * @param what How to name it in the message.
 */
export function checkAcceleration(a: unknown, what = 'acceleration'): Acceleration {
  const o = a as Acceleration | null;
  if (!o || typeof o !== 'object') throw new Error(`${what} must be an object { beta, gamma }, got ${String(a)}`);
  if (typeof o.beta !== 'number' || !Number.isFinite(o.beta) || o.beta < 0) {
    throw new Error(`${what}: beta must be a finite number >= 0, got ${String(o.beta)}`);
  }
  if (typeof o.gamma !== 'number' || !Number.isFinite(o.gamma) || !(o.gamma > 0 && o.gamma <= 2)) {
    throw new Error(`${what}: gamma must be a number in (0, 2], got ${String(o.gamma)}`);
  }
  return { beta: o.beta, gamma: o.gamma };
}

/** Default relative tolerance of PGHI and `RtPghi`: coefficients more than 80 dB below the maximum get random phase. */
export const DEFAULT_PGHI_TOLERANCE = 1e-4;

/** How PGHI and `RtPghi` take the time derivative of the log-magnitude (see `PghiOptions.timeDerivative` in `pghi.ts`). */
export type PghiTimeDerivative = 'power' | 'log';

/** Whether `x` is a {@link PghiTimeDerivative} (for checking options and sidecars). */
export function isPghiTimeDerivative(x: unknown): x is PghiTimeDerivative {
  return x === 'power' || x === 'log';
}

/** Default `PghiOptions.timeDerivative`: from power differences over ±2 frames. */
export const DEFAULT_PGHI_TIME_DERIVATIVE: PghiTimeDerivative = 'power';
