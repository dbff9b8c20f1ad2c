import { request, type Agent, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { TEST_CA } from './h2.js';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

/** One GET on 127.0.0.1; rejects with the socket error (ECONNREFUSED, ECONNRESET, ...). `tls`: over HTTPS, trusting the test certificate. */
export function get(port: number, path: string, agent?: Agent, { tls = false } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const options: RequestOptions & { ca?: Buffer } = { host: '127.0.0.1', port, path, agent: agent ?? false, ...(tls ? { ca: TEST_CA } : {}) };
    const send = tls ? httpsRequest : request;
    const req = send(options, (res: IncomingMessage) => {
      const socket = res.socket;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A health probe's status and the `graceful` indicator's data (from `info` when up, `error` when down). */
export async function probe(port: number, path: string): Promise<{ status: number; graceful: Record<string, unknown> }> {
  const response = await get(port, path);
  const body = JSON.parse(response.body) as { info?: { graceful?: object }; error?: { graceful?: object } };
  return { status: response.status, graceful: { ...(body.info?.graceful ?? body.error?.graceful) } };
}
