/** The floor for any Node proxy: node:http in front of an undici Pool, nothing else. Runs as its own process. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const upstream = process.env.UPSTREAM_URL;
if (!upstream) throw new Error('UPSTREAM_URL must name the replica, e.g. http://127.0.0.1:3000');
// Same pool settings as the gateway's replica pools, so the comparison is like for like.
const pool = new Pool(upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);
const strip = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k, v]) => v !== undefined && !HOP.has(k))) as Record<string, string | string[]>;

const server = createServer(async (req, res) => {
  try {
    const method = req.method as Dispatcher.HttpMethod;
    const body = method === 'GET' || method === 'HEAD' ? null : req;
    const up = await pool.request({ path: req.url ?? '/', method, headers: strip(req.headers), body });
    res.writeHead(up.statusCode, strip(up.headers));
    up.body.pipe(res);
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502).end(String(err));
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port })}\n`);
});
const stop = () => server.close(() => void pool.close().finally(() => process.exit(0)));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', () => process.exit(0));
