/**
 * Session persistence: debounced atomic saves, restore, corrupt files moved
 * aside with a notice, and the state folder's location rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionStore, defaultStateDir, loadSession, validateSession, SESSION_FILE } from '../src/engine/session.ts';
import { initialState, reducer, type AppState } from '../src/tui/state.ts';
import { sessionToRestorable, stateToSession } from '../src/tui/run.tsx';
import { VERSION } from '../src/version.ts';

const STATE = {
  dataset: '/data/demo',
  model: '/models/default',
  slots: { A: { path: '/data/demo/cello.wav', start: 1.5 }, B: null },
  duration: 2,
  curve: { values: [0, 0.5, 1.2], range: [-1.3, 1.3] as [number, number] },
  settings: { normalize: true, method: 'pghi+fgla', iterations: 32, deviceId: null },
  lastRender: null,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('changes are written once after the debounce, atomically, and read back', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lts-session-')), 'nested', 'state');
  try {
    const store = new SessionStore(dir, { debounceMs: 40 });
    for (let i = 0; i < 5; i++) store.update({ ...STATE, duration: 1 + i });
    assert.equal(store.writes, 0, 'nothing written before the debounce');
    await sleep(150);
    assert.equal(store.writes, 1, 'a burst of changes is one write');
    const { session, notice } = loadSession(dir);
    assert.equal(notice, null);
    assert.equal(session?.duration, 5, 'the newest state wins');
    assert.deepEqual(session?.slots, STATE.slots);
    assert.deepEqual(session?.curve, STATE.curve);
    assert.equal(session?.kind, 'lts-session');
    assert.deepEqual(readdirSync(dir), [SESSION_FILE], 'no temporary file left');
    // flush writes a pending change at once (quit path).
    store.update({ ...STATE, duration: 7 });
    assert.equal(store.flush(), true);
    assert.equal(loadSession(dir).session?.duration, 7);
    assert.equal(store.flush(), false, 'nothing pending');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt or invalid session file is moved aside with a one-line notice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-session-'));
  try {
    const path = join(dir, SESSION_FILE);
    writeFileSync(path, '{"kind": "lts-session", "version": 1, "data');
    const fixed = new Date('2026-01-02T03:04:05.678Z');
    const r = loadSession(dir, () => fixed);
    assert.equal(r.session, null);
    assert.match(r.notice ?? '', /^session file was unreadable \(invalid JSON.*moved aside to .*session\.json\.corrupt-2026-01-02T03-04-05-678Z/);
    assert.ok(!r.notice?.includes('\n'));
    assert.deepEqual(readdirSync(dir), ['session.json.corrupt-2026-01-02T03-04-05-678Z']);
    // Valid JSON with a wrong shape is treated the same.
    writeFileSync(path, JSON.stringify({ kind: 'lts-session', version: 1, dataset: '/d', model: '/m', slots: { A: null, B: null }, duration: -1 }));
    const r2 = loadSession(dir, () => new Date('2026-01-02T03:04:06Z'));
    assert.match(r2.notice ?? '', /duration is invalid/);
    assert.equal(readdirSync(dir).length, 2);
    // Missing file: nothing, no notice.
    assert.deepEqual(loadSession(dir), { session: null, notice: null });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('live settings are saved and read back; a file without them (older) still loads; bad ones are named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-session-live-'));
  try {
    const store = new SessionStore(dir, { debounceMs: 10 });
    store.update({ ...STATE, live: { loop: false, mode: 'offset', knob: -0.4 } });
    store.flush();
    assert.deepEqual(loadSession(dir).session?.live, { loop: false, mode: 'offset', knob: -0.4 });
    store.update({ ...STATE });
    store.flush();
    const older = loadSession(dir);
    assert.equal(older.notice, null);
    assert.equal(older.session?.live, undefined);
    const base = { kind: 'lts-session', version: 1, ...STATE, savedAt: '' };
    assert.equal(validateSession({ ...base, live: { loop: 'yes', mode: 'absolute', knob: 0.5 } }), 'live settings are invalid');
    assert.equal(validateSession({ ...base, live: { loop: true, mode: 'sideways', knob: 0.5 } }), 'live settings are invalid');
    assert.equal(validateSession({ ...base, live: { loop: true, mode: 'absolute', knob: null } }), 'live settings are invalid');
    assert.equal(validateSession({ ...base, live: { loop: true, mode: 'absolute', knob: 0.5 } }), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validation names the broken part', () => {
  const ok = { kind: 'lts-session', version: 1, ...STATE, savedAt: '' };
  assert.equal(validateSession(ok), null);
  assert.match(validateSession({ ...ok, version: 2 }) ?? '', /version 2/);
  assert.match(validateSession({ ...ok, curve: { values: [NaN], range: [0, 1] } }) ?? '', /curve values/);
  assert.match(validateSession({ ...ok, curve: { values: [0], range: [1, 0] } }) ?? '', /curve range/);
  assert.match(validateSession({ ...ok, slots: { A: { path: 3, start: 0 }, B: null } }) ?? '', /slots/);
  assert.match(validateSession([]) ?? '', /not a JSON object/);
});

test('a failed write is reported once and never thrown', () => {
  const base = mkdtempSync(join(tmpdir(), 'lts-session-'));
  try {
    const blocker = join(base, 'file');
    writeFileSync(blocker, 'x');
    const errors: string[] = [];
    const store = new SessionStore(join(blocker, 'state'), { onError: (m) => errors.push(m) });
    store.update(STATE);
    assert.equal(store.flush(), false);
    store.update(STATE);
    store.flush();
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^cannot save the session to .*file\/state\/session\.json: /);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('state folder: LTS_STATE_DIR, then XDG_STATE_HOME/lts, then ~/.local/state/lts', () => {
  assert.equal(defaultStateDir({ LTS_STATE_DIR: '/s', XDG_STATE_HOME: '/x', HOME: '/h' }), '/s');
  assert.equal(defaultStateDir({ XDG_STATE_HOME: '/x', HOME: '/h' }), '/x/lts');
  assert.equal(defaultStateDir({ HOME: '/h' }), '/h/.local/state/lts');
});

test('the written file is readable JSON with the documented fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-session-'));
  try {
    const store = new SessionStore(dir);
    store.update(STATE);
    store.flush();
    const json = JSON.parse(readFileSync(join(dir, SESSION_FILE), 'utf8'));
    assert.deepEqual(Object.keys(json).sort(), ['curve', 'dataset', 'duration', 'kind', 'lastRender', 'lts', 'model', 'savedAt', 'settings', 'slots', 'version']);
    assert.equal(json.lts, VERSION);
    assert.ok(!Number.isNaN(Date.parse(json.savedAt)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the instrument\'s live settings survive a restart: state -> session.json -> state; an older v1 file gives the defaults; a bad value is set aside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-session-live-rt-'));
  try {
    const fresh = (): AppState => initialState({ dataset: '/data/demo', model: '/models/default', columns: 100, rows: 30 });
    // Play once, control as an offset on the curve, moved to -0.25 by the keys.
    let s = fresh();
    s = reducer(s, { type: 'live-loop-toggle' });
    s = reducer(s, { type: 'live-mode', mode: 'offset' });
    for (let i = 0; i < 5; i++) s = reducer(s, { type: 'live-knob-nudge', delta: -0.05 });
    assert.deepEqual([s.live.loop, s.live.mode, s.live.knob.toFixed(2)], [false, 'offset', '-0.25']);
    const store = new SessionStore(dir, { debounceMs: 10 });
    store.update(stateToSession(s));
    assert.equal(store.flush(), true);
    const saved = JSON.parse(readFileSync(join(dir, SESSION_FILE), 'utf8'));
    assert.equal(saved.version, 1, 'no version bump');
    assert.deepEqual(saved.live, { loop: false, mode: 'offset', knob: s.live.knob });
    const back = loadSession(dir);
    assert.equal(back.notice, null);
    const r = reducer(fresh(), { type: 'restore', session: sessionToRestorable(back.session!) });
    assert.deepEqual([r.live.loop, r.live.mode, r.live.knob], [false, 'offset', s.live.knob]);
    assert.equal(r.live.on, false, 'a restart restores the settings, it does not start live mode');

    // A session file written before the live settings were kept: it loads, with the live defaults.
    const { live: _dropped, ...older } = saved;
    writeFileSync(join(dir, SESSION_FILE), JSON.stringify(older));
    const old = loadSession(dir);
    assert.equal(old.notice, null);
    const d = reducer(fresh(), { type: 'restore', session: sessionToRestorable(old.session!) });
    assert.deepEqual([d.live.loop, d.live.mode, d.live.knob], [fresh().live.loop, fresh().live.mode, fresh().live.knob]);
    assert.deepEqual(d.curve.values, s.curve.values, 'the rest of the older file is restored');

    // A bad live value is invalid session content: moved aside with a one-line notice, as for any other part.
    writeFileSync(join(dir, SESSION_FILE), JSON.stringify({ ...saved, live: { loop: false, mode: 'offset', knob: 'loud' } }));
    const bad = loadSession(dir, () => new Date('2026-01-02T03:04:05Z'));
    assert.equal(bad.session, null);
    assert.match(bad.notice ?? '', /^session file was unreadable \(live settings are invalid\).*moved aside/);
    assert.ok(readdirSync(dir).some((f) => f.startsWith('session.json.corrupt-')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the phase method a session restores: its own; pghi+fgla from a session saved before lts 0.4.0 (that version's default) becomes pghi+agla", () => {
  const dir = mkdtempSync(join(tmpdir(), 'lts-session-method-'));
  try {
    const fresh = (): AppState => initialState({ dataset: '/data/demo', model: '/models/default', columns: 100, rows: 30 });
    const restoreFrom = (file: object) => {
      writeFileSync(join(dir, SESSION_FILE), JSON.stringify(file));
      const { session, notice } = loadSession(dir);
      assert.equal(notice, null);
      return reducer(fresh(), { type: 'restore', session: sessionToRestorable(session!) }).settings.method;
    };
    const file = (method: string, lts?: string) => ({ kind: 'lts-session', version: 1, ...STATE, settings: { ...STATE.settings, method }, savedAt: '2026-12-01T00:00:00Z', ...(lts ? { lts } : {}) });
    assert.equal(restoreFrom(file('pghi+fgla')), 'pghi+agla', 'the old default moves to the new one');
    assert.equal(restoreFrom(file('pghi+fgla', '0.4.0')), 'pghi+fgla', 'chosen in this version: kept');
    for (const m of ['fgla', 'pghi', 'agla']) assert.equal(restoreFrom(file(m)), m, `${m} was a choice: kept`);
    assert.equal(restoreFrom(file('spectral-magic', '0.4.0')), 'pghi+agla', 'an unknown name gives the default');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- a state folder that cannot be used

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Run the real `lts` in a real terminal (tmux) and wait for it to end: its exit code, its stderr, and whether
 * the terminal's mode (`stty -g`) is the same after it as before.
 */
async function runInTerminal(env: string[], user?: number): Promise<{ code: number | 'hung'; stderr: string; sameTty: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'lts-startup-'));
  chmodSync(dir, 0o777);
  const socket = `lts-startup-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const as = user === undefined ? '' : `setpriv --reuid=${user} --regid=${user} --clear-groups `;
  const cmd = `cd ${ROOT} && stty -g > ${dir}/before; ${as}env ${env.join(' ')} TERM=xterm-256color ${process.execPath} bin/lts.js 2> ${dir}/err; echo $? > ${dir}/rc; stty -g > ${dir}/after; sleep 30`;
  try {
    execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-s', 'lts', '-x', '80', '-y', '24', cmd]);
    const t0 = Date.now();
    while (!existsSync(join(dir, 'after')) && Date.now() - t0 < 20_000) await sleep(50);
    await sleep(100);
    if (!existsSync(join(dir, 'rc'))) return { code: 'hung', stderr: readFileSync(join(dir, 'err'), 'utf8'), sameTty: false };
    return {
      code: Number(readFileSync(join(dir, 'rc'), 'utf8')),
      stderr: readFileSync(join(dir, 'err'), 'utf8'),
      sameTty: readFileSync(join(dir, 'before'), 'utf8') === readFileSync(join(dir, 'after'), 'utf8'),
    };
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a state folder that cannot be used: one line naming it and the fix, exit 2, the terminal as it was, no hang', async () => {
  const base = mkdtempSync(join(tmpdir(), 'lts-badstate-'));
  try {
    // (a) a plain file where the renders folder goes
    const st = join(base, 'st');
    mkdirSync(st);
    writeFileSync(join(st, 'renders'), 'not a folder');
    let r = await runInTerminal([`LTS_STATE_DIR=${st}`]);
    assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, new RegExp(`^lts: renders folder ${join(st, 'renders')} is a file, not a folder; remove or rename that file.*LTS_STATE_DIR`));
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.ok(!r.stderr.includes('internal error'));
    assert.ok(r.sameTty, 'the terminal mode is restored');

    // (c) the state folder itself is a file
    const file = join(base, 'file');
    writeFileSync(file, 'x');
    r = await runInTerminal([`LTS_STATE_DIR=${file}`]);
    assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, new RegExp(`^lts: state folder ${file} is a file, not a folder; .*LTS_STATE_DIR`));
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');

    // (b) a folder this user cannot write in (run as nobody, when the test runs as root)
    if (process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0) {
      const locked = join(base, 'locked');
      mkdirSync(locked, { mode: 0o755 });
      chmodSync(base, 0o755);
      r = await runInTerminal([`LTS_STATE_DIR=${locked}`], 65534);
      assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, new RegExp(`^lts: cannot (write in|create) the (state|renders) folder ${locked}.*permission denied.*LTS_STATE_DIR`));
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.ok(r.sameTty, 'the terminal mode is restored');
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
