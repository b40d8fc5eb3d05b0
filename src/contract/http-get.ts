/**
 * One small HTTP GET over node:http/https, shared by the HTTP check and `deputy probe`: status and
 * (capped) body, cancellable, no agent, nothing else loaded.
 */
import { request as httpRequest } from 'node:http';

/** What came back. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * Bodies are read up to this many bytes, then the connection is closed and the answer judged on
 * its status and those bytes (status endpoints are small). The kubelet's own httpGet probe does
 * the same at 10 KiB; reading on would let a 100 MB or endless body run a probe into its timeout.
 */
const MAX_BODY_BYTES = 1024 * 1024;

/** What is wrong with an answer, if anything: see {@link judgeAnswer}. */
export type Verdict = 'ok' | 'bad_status' | 'body_mismatch';

/**
 * Judges an answer as the HTTP check and `deputy probe --url` both do: the status is
 * `expectStatus` (default: any 2xx), then the body matches `expectBody` if given.
 */
export function judgeAnswer(answer: HttpAnswer, expectStatus: number | undefined, expectBody: RegExp | undefined): Verdict {
  const statusOk = expectStatus === undefined ? answer.status >= 200 && answer.status < 300 : answer.status === expectStatus;
  if (!statusOk) return 'bad_status';
  if (expectBody === undefined) return 'ok';
  expectBody.lastIndex = 0; // a /g or /y pattern keeps state between uses
  return expectBody.test(answer.body) ? 'ok' : 'body_mismatch';
}

/** Options of `httpGet`. */
export interface HttpGetOptions {
  /** Aborting it destroys the request and rejects with `signal.reason`. */
  readonly signal: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
  /** Called once the TCP connection is up (tells "unreachable" from "no answer"). */
  readonly onConnected?: () => void;
}

/**
 * GETs `url`. Rejects with the request error (ECONNREFUSED, a parse error from a non-HTTP peer,
 * …) or with `signal.reason` once `signal` aborts.
 */
export async function httpGet(url: URL, options: HttpGetOptions): Promise<HttpAnswer> {
  const { signal, headers = {}, onConnected } = options;
  const request = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const req = request(url, { method: 'GET', agent: false, headers: { accept: 'application/json, */*', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let answered = false;
      const answer = (): void => {
        if (answered) return;
        answered = true;
        signal.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') });
      };
      res.on('data', (chunk: Buffer) => {
        if (answered) return;
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes >= MAX_BODY_BYTES) {
          answer();
          req.destroy(); // the rest is never read (the 'error' this may raise comes after the answer)
        }
      });
      res.on('end', answer);
      res.on('error', fail);
    });
    function fail(error: unknown): void {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    }
    function onAbort(): void {
      req.destroy();
      reject(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    if (onConnected) {
      req.once('socket', (socket) => {
        if (socket.connecting) socket.once('connect', onConnected);
        else onConnected();
      });
    }
    req.end();
  });
}
