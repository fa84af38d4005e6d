/** One JSON POST to an action proxy over a keep-alive agent; resolves with the status and the body text. */
import { request, type Agent } from 'node:http';

/** Where a proxy listens: a loopback TCP port (process runtime, stock images) or a Unix socket (own images). */
export type ProxyAddress = { readonly port: number; readonly host?: string } | { readonly socketPath: string };

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

export function postJson(agent: Agent, address: ProxyAddress, path: string, body: unknown): Promise<HttpReply> {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  const target = 'socketPath' in address ? { socketPath: address.socketPath } : { host: address.host ?? '127.0.0.1', port: address.port };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        ...target,
        path,
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': data.length },
      },
      (res) => {
        // OpenWhisk treats a response without Content-Length as no response at all.
        if (res.headers['content-length'] === undefined) {
          res.resume();
          reject(new Error('response without Content-Length'));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
