import type { Command } from './command.js';
import { captureCommand } from './captureCommand.js';
import { recoverCommand } from './recoverCommand.js';
import { scanCommand } from './scanCommand.js';
import { scrubCommand } from './scrubCommand.js';
import { demoCommand } from './demoCommand.js';
import { analyzeCommand } from './analyzeCommand.js';
import { scoreCommand } from './scoreCommand.js';
import { sketchEvalCommand } from './sketchEvalCommand.js';
import { datasetCommand } from './datasetCommand.js';
import { reportCommand } from './reportCommand.js';
import { storeCommand } from './storeCommand.js';

/** Every nitrace subcommand, in the order `--help` lists them. Adding a command means adding one line here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: Command<any>[] = [captureCommand, recoverCommand, scanCommand, scrubCommand, analyzeCommand, scoreCommand, sketchEvalCommand, reportCommand, datasetCommand, storeCommand, demoCommand];
