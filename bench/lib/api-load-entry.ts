/**
 * Runs one load (api-load.ts `runLoad`) away from the server: in a worker thread (spec in workerData) or a
 * child process (spec by IPC). Answers `{ result }` or `{ error }`; the child process then ends.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type LoadResult, type LoadSpec, runLoad } from './api-load.js';

const answer = (run: Promise<LoadResult>) =>
  run.then(
    (result) => ({ result }),
    (e: unknown) => ({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );

if (!isMainThread && parentPort) {
  parentPort.postMessage(await answer(runLoad(workerData as LoadSpec)));
} else if (process.send) {
  process.once('message', async (m: { spec: LoadSpec }) => {
    const a = await answer(runLoad(m.spec));
    process.send?.(a, () => process.exit(0));
  });
} else {
  process.stderr.write('api-load-entry: started by the API bench as a worker thread or child process only\n');
  process.exit(2);
}
