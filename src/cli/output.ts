/**
 * Output that may go away: `lts train … | head`, a `tee` that was closed, a terminal that is gone.
 * Writing to a closed pipe makes Node emit an EPIPE error on the stream, which, unhandled, ends the
 * process on the spot: a training run would die without its checkpoint, a render without its file.
 * After {@link surviveClosedOutput}, output to a closed stdout or stderr is dropped and the work
 * goes on (it still ends, saves and exits as usual).
 */

/** Drop writes to a closed stdout/stderr instead of crashing. Idempotent. */
export function surviveClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listeners('error').includes(dropClosedPipe)) continue;
    stream.on('error', dropClosedPipe);
  }
}

function dropClosedPipe(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
  throw e;
}
