// The smallest client of the cloud's HTTP API: log in with a password, then call routes with the access token.
// For the programs around the cloud that drive it as its users would — npm start's demo and the end-to-end tests —
// so each does not carry its own copy of the login and JSON plumbing.
import type { RunningCloud } from './start.js';

export type ApiBody = Record<string, unknown>;

export interface ApiSession {
  readonly token: string;
  /** Any status comes back as is; a body that is not JSON is a failure of the cloud, not of the call. */
  call(method: string, path: string, body?: object): Promise<{ status: number; body: ApiBody }>;
}

export async function apiSession(baseUrl: string, login: string, password: string): Promise<ApiSession> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  const answer = (await res.json()) as { accessToken?: string };
  if (!res.ok || !answer.accessToken) throw new Error(`login ${login}: ${res.status} ${JSON.stringify(answer)}`);
  const token = answer.accessToken;
  return {
    token,
    async call(method, path, body) {
      const r = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, body: (text ? JSON.parse(text) : {}) as ApiBody };
    },
  };
}

/** A session as the demo login of this role that a started cloud printed (the seed makes one per role). */
export function sessionAs(cloud: RunningCloud, role: string): Promise<ApiSession> {
  const who = cloud.logins.find((l) => l.role === role);
  if (!who) throw new Error(`the cloud has no ${role} login`);
  return apiSession(cloud.url, who.login, who.password);
}
