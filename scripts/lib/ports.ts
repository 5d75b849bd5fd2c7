import { createServer } from 'node:net';

/** Resolves true when nothing listens on host:port (we can bind it), false when it is taken. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.once('listening', () => server.close(() => resolve(true)));
    server.listen(port, host);
  });
}

/** Returns the first `[name, port]` that is already in use, or undefined when all are free. */
export async function findBusyPort(ports: Record<string, number>): Promise<[string, number] | undefined> {
  for (const [name, port] of Object.entries(ports)) {
    if (port !== 0 && !(await isPortFree(port))) return [name, port];
  }
  return undefined;
}
