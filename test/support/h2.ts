import { connect, type ClientHttp2Session } from 'node:http2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_CA = readFileSync(join(process.cwd(), 'test', 'fixtures', 'tls', 'cert.pem'));

export interface H2Response {
  status: number;
  body: string;
}

/** An HTTP/2 client session to 127.0.0.1: h2c, or h2 over TLS trusting the test certificate. */
export function h2Session(port: number, secure: boolean): ClientHttp2Session {
  const session = secure ? connect(`https://127.0.0.1:${port}`, { ca: TEST_CA }) : connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return session;
}

/** One GET on an HTTP/2 session. */
export function h2Get(session: ClientHttp2Session, path: string): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
    stream.end();
  });
}
