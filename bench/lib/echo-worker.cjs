// The physical limit: a worker that announces itself once and then echoes every message back unchanged.
'use strict';
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (message) => parentPort.postMessage(message));
parentPort.postMessage('ready');
