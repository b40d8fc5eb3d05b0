/**
 * `deputy probe`: an exec probe for the pod spec. GETs a Deputy probe endpoint (or any status
 * URL) and turns the answer into an exit status: 0 healthy, 1 unhealthy, 2 unreachable or bad
 * input. It loads only node:http, so it starts about as fast as `node` itself.
 */
import { httpGet, judgeAnswer } from '../contract/http-get.js';

/** Exit statuses of `deputy probe`. */
const PROBE_HEALTHY = 0;
const PROBE_UNHEALTHY = 1;
export const PROBE_UNREACHABLE = 2;


/** What to probe and how to judge it; already validated. */
export interface ProbeTarget {
  readonly url: URL;
  /** Whether the URL is a Deputy endpoint (its JSON body is summarised in the line). */
  readonly deputyEndpoint: boolean;
  /** Expected status; undefined means any 2xx. */
  readonly expectStatus: number | undefined;
  readonly expectBody: RegExp | undefined;
  readonly timeoutMs: number;
}

/** The outcome: exit status and the one line to print (stdout for 0/1, stderr for 2). */
export interface ProbeOutcome {
  readonly status: number;
  readonly line: string;
}

/** `ready`, or `not_ready: not_started, db:timeout`, from a Deputy JSON body. */
function summarise(body: string): string {
  try {
    const parsed = JSON.parse(body) as { status?: unknown; reasons?: unknown };
    if (typeof parsed.status !== 'string') return '';
    const reasons = Array.isArray(parsed.reasons) && parsed.reasons.length > 0 ? `: ${parsed.reasons.join(', ')}` : '';
    return ` (${parsed.status}${reasons})`;
  } catch {
    return '';
  }
}

/** Runs one probe. Never rejects. */
export async function runProbe(target: ProbeTarget): Promise<ProbeOutcome> {
  const { url, timeoutMs } = target;
  const controller = new AbortController();
  let connected = false;
  const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
  try {
    const answer = await httpGet(url, { signal: controller.signal, onConnected: () => (connected = true) });
    const summary = target.deputyEndpoint ? summarise(answer.body) : '';
    const verdict = judgeAnswer(answer, target.expectStatus, target.expectBody);
    if (verdict === 'bad_status') {
      const expected = target.expectStatus === undefined ? '' : `, expected ${target.expectStatus}`;
      return { status: PROBE_UNHEALTHY, line: `unhealthy: ${url.href} answered ${answer.status}${expected}${summary}` };
    }
    if (verdict === 'body_mismatch') {
      return { status: PROBE_UNHEALTHY, line: `unhealthy: ${url.href} answered ${answer.status} but its body does not match ${String(target.expectBody)}` };
    }
    return { status: PROBE_HEALTHY, line: `ok: ${url.href} answered ${answer.status}${summary}` };
  } catch (error) {
    if (controller.signal.aborted) {
      // Connected but silent: the process is there and stuck, which is what a probe must report.
      return connected
        ? { status: PROBE_UNHEALTHY, line: `unhealthy: ${url.href} did not answer within ${timeoutMs} ms` }
        : { status: PROBE_UNREACHABLE, line: `deputy probe: cannot reach ${url.host} within ${timeoutMs} ms: check --host and --port and that the app is running` };
    }
    const err = error as NodeJS.ErrnoException;
    if (connected || err.code?.startsWith('HPE_') || err.code === 'ECONNRESET') {
      return {
        status: PROBE_UNREACHABLE,
        line: `deputy probe: ${url.host} did not answer HTTP (${err.message}): check that --host and --port point at the health server`,
      };
    }
    return {
      status: PROBE_UNREACHABLE,
      line: `deputy probe: cannot reach ${url.href} (${err.message}): check --host and --port and that the app is running and serving probes`,
    };
  } finally {
    clearTimeout(timer);
  }
}
