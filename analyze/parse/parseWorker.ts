import { parentPort, workerData } from 'node:worker_threads';
import type { ToWorker, WorkerSetup } from './eventBlock.js';
import { UnitParser } from './unitParser.js';

/** Entry point of a parse worker thread (parseConnections.ts starts them): a UnitParser behind messages. */
const port = parentPort!;
const parser = new UnitParser(workerData as WorkerSetup, (msg, transfer) => port.postMessage(msg, transfer));
port.on('message', (msg: ToWorker) => {
  try {
    if (msg.type === 'events') {
      parser.events(msg.block);
      port.postMessage({ type: 'ack' });
    } else if (msg.type === 'end-unit') parser.endUnit(msg.unit);
    else port.close();
  } catch (e) {
    port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
  }
});
