// The supervised app of the latency benchmark. It prints "ready" once it can be terminated, and on
// termination prints process.hrtime.bigint() (CLOCK_MONOTONIC, comparable across processes) and
// exits 0. MODE=deputy registers a graceful terminator; MODE=signal listens to SIGTERM.
import { gracefulTerminator } from '../../dist/index.js';

const onTerminate = () => {
  process.stdout.write(`${process.hrtime.bigint()}\n`, () => process.exit(0));
};
if (process.env.MODE === 'deputy') gracefulTerminator(onTerminate);
else process.on('SIGTERM', onTerminate);
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
