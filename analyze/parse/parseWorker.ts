import { parentPort, workerData } from 'node:worker_threads';
import { ACK_EVERY, type ToWorker, type WorkerSetup } from './eventBlock.js';
import { StreamParser } from './streamParser.js';

/** Entry point of a parse worker thread (parseConnections.ts starts them): a StreamParser behind messages. */
const port = parentPort!;
const parser = new StreamParser(workerData as WorkerSetup, (msg, transfer) => port.postMessage(msg, transfer));
/** Blocks parsed since the last ack. */
let unacked = 0;
port.on('message', (msg: ToWorker) => {
  try {
    if (msg.type === 'events') {
      parser.events(msg.block);
      if (++unacked === ACK_EVERY) {
        port.postMessage({ type: 'ack', blocks: unacked });
        unacked = 0;
      }
    } else parser.finish();
  } catch (e) {
    port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
  }
});
