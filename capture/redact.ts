/**
 * Redaction of captured payloads, in place, keeping every length and delimiter so protocol parsers still frame
 * the message (docs/capture.md, "Redaction"). Two rule sets:
 * - secrets (capture, on by default, `--no-redact` turns it off): credentials must never reach disk. Values are
 *   found by their name (headers, JSON keys at any escape level and of any type, SQL columns, form fields, pickle
 *   keys), by their shape (URL passwords, Fernet tokens, JWTs, password hashes) and by protocol framing (AMQP,
 *   MySQL and Redis authentication, MySQL result rows of sensitive columns). `PayloadRedactor` keeps per-connection
 *   state so values split across syscalls are found too. Implementation: capture/redact/.
 * - ground truth (`maskGroundTruth`, analysis, always): OSProfiler's trace context must never be evidence.
 */
import { PayloadRedactor } from './redact/payloadRedactor.js';

export { PayloadRedactor } from './redact/payloadRedactor.js';
export { maskGroundTruth } from './redact/groundTruth.js';
export { redactCommandLine, redactArgv } from './redact/commandLine.js';

const oneShot = new PayloadRedactor();

/** Replaces credentials in one payload on its own (no connection context), in place. Returns bytes changed. */
export function redactSecrets(payload: Uint8Array): number {
  return oneShot.redact(payload);
}
