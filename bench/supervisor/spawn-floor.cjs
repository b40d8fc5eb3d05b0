// The floor under `deputy supervise -- /bin/true`: the least a Node program can do to run a child
// and pass on its status. Loading node:child_process (it brings net, stream and dgram with it) and
// one spawn cost this much over `node -e 0` before any supervising happens.
'use strict';
require('node:child_process')
  .spawn(process.argv[2], { stdio: 'inherit' })
  .on('exit', (code) => process.exit(code ?? 1));
