// Bootstraps a worker thread that runs TypeScript: registers tsx in this
// thread (loader hooks are per thread on Node 20), then imports the entry
// module named in workerData.entry.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
