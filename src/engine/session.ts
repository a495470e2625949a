/**
 * Session persistence for the instrument: the dataset, model, chosen files,
 * excerpt selections, curve and settings are written to `session.json` on
 * every change (debounced, atomically: temporary file + rename), and read
 * back at the next start, so a crash or a dropped SSH connection loses at
 * most the last fraction of a second of edits.
 *
 * Location (first that applies): `$LTS_STATE_DIR`, `$XDG_STATE_HOME/lts`,
 * `~/.local/state/lts` (the XDG base directory default). Renders go to
 * `<stateDir>/renders/`.
 *
 * A state file that cannot be parsed or fails validation is moved aside to
 * `session.json.corrupt-<timestamp>` and the caller gets a one-line notice;
 * it never stops the app from starting.
 */
import { readFileSync, renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { writeFileAtomic } from '../io/atomic.ts';
import { VERSION } from '../version.ts';
import { makeFolders } from '../io/folders.ts';

/** The file name of the session inside the state folder. */
export const SESSION_FILE = 'session.json';

/** Current session format version. */
export const SESSION_VERSION = 1;

/** A saved excerpt slot. */
export interface SessionSlot {
  /** Absolute path of the audio file. */
  path: string;
  /** Excerpt start in seconds. */
  start: number;
}

/** The live mode settings a session keeps. */
export interface SessionLive {
  loop: boolean;
  mode: 'absolute' | 'offset';
  /** The control value (absolute: −0.3..1.3; offset: −1..1). */
  knob: number;
}

/** Everything a session file holds. */
export interface SessionState {
  kind: 'lts-session';
  version: 1;
  /** Dataset folder (absolute). */
  dataset: string;
  /** Model folder (absolute). */
  model: string;
  slots: { A: SessionSlot | null; B: SessionSlot | null };
  /** Shared excerpt duration in seconds. */
  duration: number;
  /** The editor's curve: one amount per column at evenly spaced times, and the value range shown. */
  curve: { values: number[]; range: [number, number] };
  settings: {
    normalize: boolean;
    /** Phase method name (`pghi+agla`, `pghi+fgla`, `agla`, `fgla`, `pghi`). */
    method: string;
    iterations: number;
    /** Audio output device id, or null for the default device. */
    deviceId: number | null;
  };
  /** The last render, if any. */
  lastRender: { path: string; seconds: number; duration: number; peakDbfs: number } | null;
  /**
   * Live mode settings: loop or play once, what the control means (`absolute`: the amount a;
   * `offset`: added to the drawn curve) and its last value. Absent in files written before they
   * were saved (those start with the defaults: loop, absolute, 0.5).
   */
  live?: SessionLive;
  /** ISO time of the save. */
  savedAt: string;
  /** The lts version that saved it (absent before 0.4.0). */
  lts?: string;
}

/**
 * The state folder: `env.LTS_STATE_DIR`, else `env.XDG_STATE_HOME/lts`,
 * else `~/.local/state/lts`.
 *
 * @param env environment to read (default `process.env`).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LTS_STATE_DIR) return env.LTS_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'lts');
  return join(env.HOME || homedir(), '.local', 'state', 'lts');
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function validSlot(x: unknown): x is SessionSlot | null {
  if (x === null) return true;
  const s = x as SessionSlot;
  return typeof s === 'object' && typeof s.path === 'string' && isNum(s.start) && s.start >= 0;
}

/** Why `x` is not a valid session, or null when it is. */
export function validateSession(x: unknown): string | null {
  const s = x as SessionState;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return 'not a JSON object';
  if (s.kind !== 'lts-session') return 'not an lts session ("kind" is not "lts-session")';
  if (s.version !== SESSION_VERSION) return `version ${String(s.version)} is not supported`;
  if (typeof s.dataset !== 'string' || typeof s.model !== 'string') return 'dataset or model is missing';
  if (typeof s.slots !== 'object' || s.slots === null || !validSlot(s.slots.A) || !validSlot(s.slots.B)) return 'slots are invalid';
  if (!isNum(s.duration) || s.duration <= 0) return 'duration is invalid';
  const c = s.curve;
  if (typeof c !== 'object' || c === null || !Array.isArray(c.values) || c.values.length === 0 || !c.values.every(isNum)) return 'curve values are invalid';
  if (!Array.isArray(c.range) || c.range.length !== 2 || !c.range.every(isNum) || !(c.range[0] < c.range[1])) return 'curve range is invalid';
  const st = s.settings;
  if (typeof st !== 'object' || st === null || typeof st.normalize !== 'boolean' || typeof st.method !== 'string') return 'settings are invalid';
  if (!isNum(st.iterations) || st.iterations < 0 || !(st.deviceId === null || isNum(st.deviceId))) return 'settings are invalid';
  const lr = s.lastRender;
  if (lr !== null && (typeof lr !== 'object' || typeof lr.path !== 'string' || !isNum(lr.seconds))) return 'last render is invalid';
  const lv = s.live;
  if (lv !== undefined && (typeof lv !== 'object' || lv === null || typeof lv.loop !== 'boolean' || (lv.mode !== 'absolute' && lv.mode !== 'offset') || !isNum(lv.knob))) {
    return 'live settings are invalid';
  }
  return null;
}

/** Result of {@link loadSession}. */
export interface LoadedSession {
  /** The saved session, or null when there is none (or it was corrupt). */
  session: SessionState | null;
  /** One line for the user when the file was corrupt and moved aside, else null. */
  notice: string | null;
}

/**
 * Read the session of a state folder. A missing file gives `{ session: null }`;
 * a corrupt or invalid one is renamed to `session.json.corrupt-<time>` and
 * reported in `notice`. Never throws for file content problems.
 *
 * @param stateDir the state folder (see {@link defaultStateDir}).
 * @param now clock for the corrupt file's suffix (tests pass a fixed date).
 */
export function loadSession(stateDir: string, now: () => Date = () => new Date()): LoadedSession {
  const path = join(stateDir, SESSION_FILE);
  if (!existsSync(path)) return { session: null, notice: null };
  let problem: string | null;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
    problem = validateSession(parsed);
  } catch (e) {
    problem = `invalid JSON (${(e as Error).message.split('\n')[0]})`;
  }
  if (problem === null) return { session: parsed as SessionState, notice: null };
  const aside = `${path}.corrupt-${now().toISOString().replace(/[:.]/g, '-')}`;
  try {
    renameSync(path, aside);
    return { session: null, notice: `session file was unreadable (${problem}); moved aside to ${aside}, starting fresh` };
  } catch (e) {
    return { session: null, notice: `session file ${path} is unreadable (${problem}) and could not be moved (${(e as Error).message}); starting fresh` };
  }
}

/**
 * Debounced, atomic writer of the session file.
 *
 * `update()` records the newest state and (re)starts a timer; when it fires
 * the state is written with temp-file + rename. `flush()` writes a pending
 * state immediately (call it on exit). Write errors are reported through
 * `onError` once per distinct message and never thrown at the caller.
 */
export class SessionStore {
  private pending: SessionState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastError: string | null = null;
  /** Number of files written so far (for diagnostics and tests). */
  writes = 0;

  /**
   * @param stateDir folder of `session.json`; created on the first write.
   * @param opts.debounceMs delay after the last change before writing (default 250 ms).
   * @param opts.onError called with a one-line message when a write fails.
   */
  constructor(
    readonly stateDir: string,
    private readonly opts: { debounceMs?: number; onError?: (message: string) => void } = {},
  ) {}

  /** The session file path. */
  get path(): string {
    return join(this.stateDir, SESSION_FILE);
  }

  /** Record a new state; it is written after the debounce delay. */
  update(state: Omit<SessionState, 'savedAt' | 'kind' | 'version' | 'lts'>): void {
    this.pending = { kind: 'lts-session', version: SESSION_VERSION, ...state, savedAt: '', lts: VERSION };
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.opts.debounceMs ?? 250);
    this.timer.unref?.();
  }

  /** Write the pending state now (no-op when nothing is pending). Returns true if a file was written. */
  flush(): boolean {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const s = this.pending;
    if (!s) return false;
    this.pending = null;
    try {
      makeFolders(this.stateDir);
      writeFileAtomic(this.path, JSON.stringify({ ...s, savedAt: new Date().toISOString() }, null, 1) + '\n');
      this.writes++;
      this.lastError = null;
      return true;
    } catch (e) {
      const msg = `cannot save the session to ${this.path}: ${(e as Error).message.split('\n')[0]}`;
      if (msg !== this.lastError) this.opts.onError?.(msg);
      this.lastError = msg;
      return false;
    }
  }
}
