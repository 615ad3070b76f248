import type { Engine } from '../engine/engine.js';

// Interpreters and app servers whose comm names the runtime, not the service; the service is in the cmdline.
const GENERIC_COMMS = /^(python[\d.]*|uwsgi|gunicorn.*|node|java|ruby|perl|php.*|sh|bash|dotnet|httpd|apache2)$/;

/**
 * A readable service label for a process, first match wins: `--name X`/`--service X` in its cmdline; the app an
 * app server loads (`--wsgi-file X`, `--module X`, a Python interpreter's `-m X`); its comm unless that only names a runtime; the script
 * it runs (first argument that is a path); else its comm.
 */
export function serviceLabel(comm: string | null, cmdline: string | null): string | null {
  const args = (cmdline ?? '').split(/\s+/).filter(Boolean);
  const base = (p: string): string => p.split('/').pop()!.replace(/\.(py|js|rb|pl|php|ini|wsgi)$/, '');
  const valueOf = (re: RegExp): string | null => {
    for (let i = 0; i < args.length; i++) {
      const m = re.exec(args[i]!);
      if (m) return m[1] ?? args[i + 1] ?? null;
    }
    return null;
  };
  const named = valueOf(/^--(?:name|service)(?:=(.+))?$/);
  if (named) return named;
  // `-m X` names a module only after a Python interpreter (memcached's `-m 64` is its memory in MB)
  const python = /^python[\d.]*$/.test(base(args[0] ?? ''));
  const app = valueOf(/^--(?:wsgi-file|module|wsgi)(?:=(.+))?$/) ?? (python ? valueOf(/^-m$/) : null);
  if (app) return base(app);
  if (comm && !GENERIC_COMMS.test(comm)) return comm;
  const script = args.slice(1).find((a) => !a.startsWith('-') && (a.includes('/') || /\.(py|js|rb)$/.test(a)));
  if (script) return base(script);
  return comm;
}

/** Table `services(node, pid, service)` from `processes`. */
export async function buildServices(engine: Engine): Promise<void> {
  const procs = await engine.query<{ node: string; pid: number; comm: string | null; cmdline: string | null }>(
    'SELECT node, pid, any_value(comm) AS comm, any_value(cmdline) AS cmdline FROM processes GROUP BY node, pid',
  );
  await engine.exec('CREATE OR REPLACE TABLE services (node VARCHAR, pid INTEGER, service VARCHAR)');
  await engine.insertRows('services', procs.map((p) => [p.node, p.pid, serviceLabel(p.comm, p.cmdline)]));
}
