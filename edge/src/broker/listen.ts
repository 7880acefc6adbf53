import type { Server } from 'node:net';

/**
 * Listen on `port`, or on a free port when it is taken (a machine may already
 * run Mosquitto on 1883). Returns the port actually bound.
 */
export function listenWithFallback(server: Server, host: string, port: number): Promise<number> {
  const attempt = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = () => {
        server.off('error', onError);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : p);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(p, host);
    });
  return attempt(port).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE' && port !== 0) return attempt(0);
    throw err;
  });
}
