import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { ColumnBatch, type TableSchema } from '../analyze/engine/columns.js';

/** A batch sent through a real MessagePort with its transfer list, as the parse workers send theirs (VARCHARs
 * arrive as dictionary codes). */
export function viaMessagePort<S extends TableSchema>(schema: S, b: ColumnBatch<S>): ColumnBatch<S> {
  const { port1, port2 } = new MessageChannel();
  const t = b.toTransfer();
  port1.postMessage(t.batch, t.transfer);
  const got = receiveMessageOnPort(port2)!.message;
  port1.close();
  return ColumnBatch.fromTransfer(schema, got);
}
