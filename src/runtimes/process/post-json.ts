/** One JSON POST to a proxy on loopback over a keep-alive agent; resolves with the status and the body text. */
import { request, type Agent } from 'node:http';

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

export function postJson(agent: Agent, port: number, path: string, body: unknown): Promise<HttpReply> {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
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
