#!/usr/bin/env bash
# Installs the Debian packages a task needs, only if something is missing.
#   test   what `npm test` needs (run by `npm test` through the pretest script)
#   demo   what scripts/make-demo-data.ts needs (rebuilding the shipped demo audio)
#   bench  what `npm run bench` needs for its peers (PyTorch, torchaudio)
# Needs root or password-less sudo for apt-get; otherwise it prints the command to run and fails.
set -euo pipefail
task="${1:-test}"
case "$task" in
  test)  cmds="sox tmux lame opusenc jackd chromium oscsend"; pkgs="sox libsox-fmt-all libsox-fmt-mp3 lame opus-tools tmux libasound2 libasound2-plugins jackd2 chromium liblo-tools python3-h5py" ;;
  demo)  cmds="fluidsynth espeak-ng sox";  pkgs="fluidsynth fluid-soundfont-gm espeak-ng sox" ;;
  bench) cmds="sox";                       pkgs="python3-torch python3-torchaudio sox" ;;
  *) echo "system-deps: unknown task '$task' (test|demo|bench)" >&2; exit 2 ;;
esac

missing=""
for c in $cmds; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "system-deps: missing$missing; install them with: sudo apt-get install -y $pkgs" >&2
  exit 1
fi
echo "system-deps: installing Debian packages for '$task':$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
  $SUDO apt-get update -qq >/tmp/lts-system-deps.log 2>&1 || { tail -n 20 /tmp/lts-system-deps.log >&2; exit 1; }
fi
$SUDO apt-get install -y -qq --no-install-recommends $pkgs >>/tmp/lts-system-deps.log 2>&1 || {
  tail -n 20 /tmp/lts-system-deps.log >&2
  echo "system-deps: apt-get install failed; see /tmp/lts-system-deps.log" >&2
  exit 1
}
echo "system-deps: done" >&2
