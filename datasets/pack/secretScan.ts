/**
 * The secret scan `nitrace dataset pack` runs before it packs anything.
 *
 * HOOK (issue 12 item 3): H2 is building `nitrace capture-scan` (capture/scan/). When its library function
 * lands, call it here, once per capture directory, and map its findings to SecretFinding. Until then this returns
 * null: pack records `secret_scan.status = "not-available"` in nitrace-dataset.json and warns on stderr, so an
 * archive packed without a scan says so.
 */

export interface SecretFinding {
  /** file inside the dataset, '/'-separated */
  file: string;
  /** what was found (e.g. 'password', 'x-auth-token'); never the secret itself */
  kind: string;
  count: number;
}

export interface SecretScanResult {
  tool: string;
  findings: SecretFinding[];
}

/** Scans a dataset directory for known secrets; null when no scanner is available in this nitrace. */
export async function scanForSecrets(_datasetDir: string, _captureDirs: readonly string[]): Promise<SecretScanResult | null> {
  return null;
}
