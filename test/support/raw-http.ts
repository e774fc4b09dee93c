import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request over a plain socket, the request target sent byte for byte as given (no URL parsing,
 * no normalisation of dot segments, slashes or percent-encoding on our side). A connection the server closes
 * without an answer (its parser refused the request) reads as status 0.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
  /** Write the body in chunks of this many bytes, each after the last was flushed and `pauseMs` passed. */
  pace?: { chunkBytes: number; pauseMs: number },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const request = `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = (end < 0 ? text : text.slice(0, end)).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const parsed: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers: parsed, body: end < 0 ? '' : text.slice(end + 4) });
    });
    if (!pace) return void socket.write(request);
    // the head at once, then the body as a slow client sends it: a server that answers and closes before
    // it has read it all makes the next write fail (EPIPE, ECONNRESET), which rejects
    const rest = Buffer.from(request);
    const head = rest.indexOf('\r\n\r\n') + 4;
    let at = head;
    const next = (): void => {
      if (at >= rest.length || socket.destroyed) return;
      const chunk = rest.subarray(at, at + pace.chunkBytes);
      at += chunk.length;
      socket.write(chunk, () => setTimeout(next, pace.pauseMs));
    };
    socket.write(rest.subarray(0, head), next);
  });
}
