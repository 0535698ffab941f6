// Raw HTTP over a socket, for what fetch cannot send or hides: malformed requests, huge headers, bodies written before
// the answer is read, and the exact bytes of an answer.
import { connect, type Socket } from 'node:net';

/** Sends raw bytes on a fresh connection and resolves with what came back and when the connection closed. */
export function raw(url: string, write: (s: Socket) => void): Promise<{ response: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let response = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { response += d; });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ response, closedAfterMs: Date.now() - started }));
    socket.once('connect', () => write(socket));
  });
}

/** An answer's status, lower-cased header names and body. */
export function parseAnswer(response: string): { status: number; headers: Record<string, string>; body: string } {
  const end = response.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = response.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: response.slice(end + 4) };
}
