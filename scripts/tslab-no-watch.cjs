// Preloaded into the notebooks' tslab kernel (scripts/tslab-kernel.sh): TypeScript's file and directory watchers off.
//
// Why: tslab type-checks each cell through TypeScript's watch API with a fake setTimeout that holds ONE pending
// timer and throws "Unexpected pending rebuildTimer" when a second is set. TypeScript has two: the program update
// (what tslab expects) and the invalidation of failed module lookups, which a directory watcher starts when a file
// appears under a watched directory. A notebook's cell importing types from ./dist/types/ makes TypeScript watch
// dist/ (recursively, emulated on Linux with real timers); the accuracy notebooks then write their analyses into
// dist/notebooks/cache/, and the next cell failed with that error (the notebook's own type-check, not its code).
// Whether the event arrived before the next cell depended on timing, hence "flaky under load" (and a retry with
// the cache already filled wrote nothing, so it passed). Reproduced deterministically by a cell that writes a JSON
// file under dist/ and waits (notebooks/notebooks.test.ts).
//
// What it costs: a kernel does not notice declaration files changed while it runs (rebuild, then restart the
// kernel), which headless runs never need: scripts/run-notebooks.sh builds dist/types before the kernel starts.
// tslab's own virtual files (the cell source, previous declarations) are notified by tslab itself, not by these.
'use strict';
const { dirname } = require('node:path');
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [dirname(require.resolve('tslab/package.json'))] }));
const none = () => ({ close() {} });
ts.sys.watchFile = none;
ts.sys.watchDirectory = none;
