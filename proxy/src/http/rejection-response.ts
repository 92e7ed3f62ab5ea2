import { dateFieldLine } from './date-header.js';
import { statusLine } from './status-reasons.js';

/**
 * The complete response to a request the front refuses before dispatch (400, 408, 413, 414, 417,
 * 431, 501, 505): a short text/plain body with the status and the refusal's reason (text the
 * front wrote itself, never client bytes), and `Connection: close`: after a refusal, nothing the
 * client sends next on this connection can be trusted to start a request.
 */
export function buildRejection(status: number, reason: string): string {
  const line = statusLine(status, '');
  const body = `${line.slice(9, -2)}\n${reason}\n`;
  return (
    line +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    'Connection: close\r\n' +
    dateFieldLine() +
    '\r\n' +
    body
  );
}
