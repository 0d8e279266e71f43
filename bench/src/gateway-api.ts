/** The few calls the bench makes to a gateway's system API: upload a bundle, deploy it, wait for its first 200. */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

/** A gateway URL with the admin's credentials. */
export interface GatewayAccess {
  url: string;
  password: string;
}

const auth = (g: GatewayAccess) => `Basic ${Buffer.from(`admin:${g.password}`).toString('base64')}`;

async function expectOk(res: Awaited<ReturnType<typeof request>>, what: string): Promise<void> {
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${what} failed: ${res.statusCode} ${text}`);
}

/** PUT /system/bundles/<digest> with the bundle's bytes. */
export async function uploadBundle(g: GatewayAccess, digest: string, bundlePath: string): Promise<void> {
  const body = await readFile(bundlePath);
  const res = await request(`${g.url}/system/bundles/${digest}`, { method: 'PUT', headers: { authorization: auth(g), 'content-type': 'application/octet-stream' }, body });
  await expectOk(res, `uploading ${digest}`);
}

/** POST /system/functions for `bundle://<digest>`. */
export async function deploy(g: GatewayAccess, service: string, digest: string): Promise<void> {
  const res = await request(`${g.url}/system/functions`, {
    method: 'POST',
    headers: { authorization: auth(g), 'content-type': 'application/json' },
    body: JSON.stringify({ service, image: `bundle://${digest}` }),
  });
  await expectOk(res, `deploying ${service}`);
}

/** Calls `POST /function/<name>` until it answers 200; throws after `timeoutMs`. */
export async function waitFor200(g: GatewayAccess, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    try {
      const res = await request(`${g.url}/function/${name}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'ping' });
      const text = await res.body.text();
      if (res.statusCode === 200) return;
      last = `${res.statusCode} ${text}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(2);
  }
  throw new Error(`function ${name} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
