// Bree worker: the cleanup job, once (see jobs/job-worker.ts).
import { runJobWorker } from './job-worker.ts';

await runJobWorker('cleanup');
