#!/usr/bin/env -S node --single-threaded-gc
// The `lts` command. The project is TypeScript run directly through tsx, so
// there is no build step between `npm install` and `npm start`.
//
// --single-threaded-gc: V8 collects garbage on the thread that allocates instead of waiting for
// helper threads. Live mode's synthesis thread runs at real-time priority; with helper threads at
// normal priority it could wait for them behind any busy process (priority inversion), which was
// measured as 5 underruns a minute on a loaded machine, none with this flag (BENCHMARKS.md, "Live mode").
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
