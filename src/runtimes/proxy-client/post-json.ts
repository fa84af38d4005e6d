/** One JSON POST to an action proxy over a keep-alive agent; resolves with the status and the body text. */
import { request, type Agent } from 'node:http';

/** Where a proxy listens: a loopback TCP port (process runtime, stock images) or a Unix socket (own images). */
export type ProxyAddress = { readonly port: number; readonly host?: string } | { readonly socketPath: string };

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/**
 * `extraHeaders`: EdgeWhisk's own request headers (the proxy's secret, the log limit).
 *
 * A kept-alive connection the proxy closed while idle (Node.js servers do after 5 s) can be picked for the next
 * request just as the close arrives; that request then fails before the proxy ever read it. It is sent once more
 * on a new connection, as Node.js's documentation advises, instead of being taken for a dead proxy (which left the
 * activation waiting for its time limit).
 */
export async function postJson(agent: Agent, address: ProxyAddress, path: string, body: unknown, extraHeaders: Readonly<Record<string, string>> = {}): Promise<HttpReply> {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  try {
    return await postOnce(agent, address, path, data, extraHeaders);
  } catch (error) {
    if (!(error instanceof StaleConnection)) throw error;
    return postOnce(agent, address, path, data, extraHeaders);
  }
}

/** The request failed on a reused connection before any answer: the proxy closed it while it was idle. */
class StaleConnection extends Error {}

function postOnce(agent: Agent, address: ProxyAddress, path: string, data: Buffer, extraHeaders: Readonly<Record<string, string>>): Promise<HttpReply> {
  const target = 'socketPath' in address ? { socketPath: address.socketPath } : { host: address.host ?? '127.0.0.1', port: address.port };
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      {
        agent,
        ...target,
        path,
        method: 'POST',
        headers: { ...extraHeaders, 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': data.length },
      },
      (res) => {
        answered = true;
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
    req.on('error', (error: NodeJS.ErrnoException) => {
      const stale = req.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      reject(stale ? new StaleConnection(error.message) : error);
    });
    req.end(data);
  });
}
