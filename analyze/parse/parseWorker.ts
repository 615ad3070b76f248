import { parentPort, workerData } from 'node:worker_threads';
import type { ToWorker, WorkerSetup } from './eventBlock.js';
import { StreamParser } from './streamParser.js';

/** Entry point of a parse worker thread (parseConnections.ts starts them): a StreamParser behind messages. */
const port = parentPort!;
const parser = new StreamParser(workerData as WorkerSetup, (msg, transfer) => port.postMessage(msg, transfer));
port.on('message', (msg: ToWorker) => {
  try {
    if (msg.type === 'events') {
      parser.events(msg.block);
      port.postMessage({ type: 'ack' });
    } else parser.finish();
  } catch (e) {
    port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
  }
});
