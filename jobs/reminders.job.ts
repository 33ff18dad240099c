// Bree worker: the reminders job, once (see jobs/job-worker.ts).
import { runJobWorker } from './job-worker.ts';

await runJobWorker('reminders');
