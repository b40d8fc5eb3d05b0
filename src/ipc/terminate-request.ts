/**
 * Which terminate request is being served, while the terminator calls the app's callback: `socket`
 * (a `terminate` datagram: `deputy terminate`, the preStop hook, `deputy supervise`) or the signal's
 * name. The callback is called synchronously inside {@link callForTerminateRequest}, so a
 * `deputy.shutdown()` it makes can tell how shutdown began without the app passing anything
 * (`gracefulTerminator(() => deputy.shutdown())` stays the whole wiring). Internal.
 */

/** How a terminate request arrived: `socket`, or a signal name. */
export type TerminateVia = 'socket' | NodeJS.Signals;

let serving: TerminateVia | undefined;

/** Calls `fn` with `via` recorded as the request being served. */
export function callForTerminateRequest<T>(via: TerminateVia, fn: () => T): T {
  const outer = serving;
  serving = via;
  try {
    return fn();
  } finally {
    serving = outer;
  }
}

/** The request being served by the current synchronous call, if any. */
export function terminateRequestBeingServed(): TerminateVia | undefined {
  return serving;
}
