/**
 * A rule node on a remote engine whose trigger a trigger node creates at the same moment: over HTTP the two creates
 * race, and the rule node's may be the one refused (409). The trigger then exists, which is all the rule needs. A
 * local server stands in for OpenWhisk so that the rule node always loses the race.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { helper, NODES, statuses, tab, useNodeRed } from '../helpers/node-red';

useNodeRed();

const AUTH = 'rule-race-uuid:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  server = undefined;
});

describe('edgewhisk-rule on a remote engine', () => {
  it('defines its rule when its create of the trigger is refused because another node created it meanwhile', async () => {
    let triggerExists = false;
    const seen: string[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        seen.push(`${req.method} ${path} ${body}`.trim());
        const answer = (status: number, json: unknown): void => {
          // Late enough that the node's first attempt ends after Node-RED has reported the flows started.
          setTimeout(() => {
            res.writeHead(status, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(json));
          }, 50);
        };
        if (path.endsWith('/triggers/bell') && req.method === 'GET') return answer(triggerExists ? 200 : 404, triggerExists ? { name: 'bell' } : { error: 'The requested resource does not exist.' });
        if (path.endsWith('/triggers/bell') && req.method === 'PUT') {
          // The trigger node's create got there first.
          triggerExists = true;
          return answer(409, { error: 'resource already exists' });
        }
        if (path.endsWith('/rules/ring') && req.method === 'POST') return answer(404, { error: 'The requested resource does not exist.' });
        if (path.endsWith('/rules/ring') && req.method === 'PUT') return answer(200, { name: 'ring', status: 'active' });
        return answer(404, { error: 'The requested resource does not exist.' });
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const apihost = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    await helper.load(
      NODES,
      [
        { id: 'e1', type: 'edgewhisk-engine', mode: 'remote', apihost },
        tab,
        { id: 'r1', type: 'edgewhisk-rule', z: 'f1', engine: 'e1', rule: 'ring', trigger: 'bell', action: 'act', wires: [[]] },
      ],
      { e1: { apiKey: AUTH } },
    );
    await expect.poll(() => statuses(helper.getNode('r1')).at(-1), { timeout: 5_000 }).toMatchObject({ fill: 'green', text: 'active' });
    expect(seen).toContain('PUT /api/v1/namespaces/_/rules/ring {"action":"/_/act","trigger":"/_/bell"}');
  });
});
