// A ready Deputy health server on a free loopback port for the probe benchmark; logs its port.
import { Deputy } from '../../dist/index.js';

const deputy = new Deputy();
const server = await deputy.serve({ host: '127.0.0.1', port: 0 });
deputy.readied();
process.stderr.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
