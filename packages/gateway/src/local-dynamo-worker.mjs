// Worker-thread entry of the embedded DynamoDB engine (see local-dynamo.ts). Plain JavaScript so
// it loads the same under node, tsx and vitest: it only starts dynalite and reports its port.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite({ path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (error) =>
  parentPort.postMessage({ type: 'error', message: String(error?.message ?? error) }),
);
server.listen(workerData.port, workerData.host, () => {
  parentPort.postMessage({ type: 'listening', port: server.address().port });
});
parentPort.on('message', (message) => {
  if (message?.type !== 'stop') return;
  server.close((error) => {
    parentPort.postMessage({ type: 'stopped', message: error ? String(error.message ?? error) : undefined });
    parentPort.close();
  });
});
