// test.sh's wait for a node it started: `node dist/e2e/wait_healthy.js <port> <pid> <what> <deadline ms>`
// exits 0 once GET /healthz on the port answers 200, 1 with the reason (the process exited, or
// the deadline passed) on stderr.
import fs from 'node:fs';
import { healthy } from './harness.js';

const [port, pid, what, deadlineMs] = process.argv.slice(2);
// Gone, or a zombie (exited, not yet reaped by test.sh, which is busy running this).
const exited = (): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? `process ${pid} exited (see its log)` : undefined;
  } catch {
    return `process ${pid} is gone (see its log)`;
  }
};
healthy(Number(port), what, Number(deadlineMs), exited).then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
