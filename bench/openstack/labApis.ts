/**
 * The three OpenStack API calls bench-openstack loads, built from the lab's admin-openrc and keystone's catalog
 * (no hard-coded ports besides the auth URL in admin-openrc).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadSpec } from './loadClient.js';

export interface LabCredentials {
  authUrl: string;
  username: string;
  password: string;
  project: string;
  userDomain: string;
  projectDomain: string;
}

/** Reads `export OS_X=...` lines of $LAB/admin-openrc. */
export function readOpenrc(lab: string): LabCredentials {
  const file = join(lab, 'admin-openrc');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file} not found: is the lab up? (make lab-up)`);
  }
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/\b(OS_[A-Z_]+)=("([^"]*)"|'([^']*)'|(\S+))/g)) env[m[1]!] = m[3] ?? m[4] ?? m[5] ?? '';
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new Error(`${file}: no ${k}`);
    return v;
  };
  return {
    authUrl: need('OS_AUTH_URL').replace(/\/+$/, ''),
    username: need('OS_USERNAME'),
    password: need('OS_PASSWORD'),
    project: need('OS_PROJECT_NAME'),
    userDomain: env.OS_USER_DOMAIN_NAME ?? 'Default',
    projectDomain: env.OS_PROJECT_DOMAIN_NAME ?? 'Default',
  };
}

export function tokenRequestBody(c: LabCredentials): string {
  return JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomain }, password: c.password } } },
      scope: { project: { name: c.project, domain: { name: c.projectDomain } } },
    },
  });
}

interface Catalog {
  token: string;
  endpoints: Map<string, string>; // service type -> public URL
}

/** Issue a token; return it and the public endpoints of its catalog. */
export async function issueToken(c: LabCredentials): Promise<Catalog> {
  const url = `${c.authUrl}/auth/tokens`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: tokenRequestBody(c) });
  } catch (e) {
    // undici says only "fetch failed"; the reason (refused, timed out) is its cause
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach keystone at ${url} (${cause?.code ?? cause?.message ?? String(e)}): is the lab up? (make lab-up)`);
  }
  if (res.status !== 201) throw new Error(`keystone ${c.authUrl}/auth/tokens answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const body = (await res.json()) as { token: { catalog?: { type: string; endpoints: { interface: string; url: string }[] }[] } };
  const endpoints = new Map<string, string>();
  for (const s of body.token.catalog ?? []) {
    const pub = s.endpoints.find((e) => e.interface === 'public') ?? s.endpoints[0];
    if (pub) endpoints.set(s.type, pub.url.replace(/\/+$/, ''));
  }
  return { token: res.headers.get('x-subject-token')!, endpoints };
}

export const API_NAMES = ['keystone_token_issue', 'glance_image_list', 'nova_server_list'] as const;
export type ApiName = (typeof API_NAMES)[number];

/** The request of one API as a load spec (mode and timing filled in by the caller). */
export function apiRequest(api: ApiName, c: LabCredentials, cat: Catalog): Pick<LoadSpec, 'url' | 'method' | 'headers' | 'body' | 'ok'> {
  const endpoint = (type: string): string => {
    const url = cat.endpoints.get(type);
    if (!url) throw new Error(`keystone's catalog has no '${type}' endpoint: is that service deployed in the lab?`);
    return url;
  };
  switch (api) {
    case 'keystone_token_issue':
      return { url: `${c.authUrl}/auth/tokens`, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: tokenRequestBody(c), ok: [201] };
    case 'glance_image_list':
      return { url: `${endpoint('image')}/v2/images`, method: 'GET', headers: { 'X-Auth-Token': cat.token }, ok: [200] };
    case 'nova_server_list':
      return { url: `${endpoint('compute')}/servers`, method: 'GET', headers: { 'X-Auth-Token': cat.token }, ok: [200] };
  }
}
