// Bree worker: the digests job, once (see jobs/job-worker.ts).
import { runJobWorker } from './job-worker.ts';

await runJobWorker('digests');
