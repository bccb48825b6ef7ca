// One promise already resolved, returned by work that finished at once
// (an object recycled with no hook to run, a frame with nothing bound).
// A caller that must wait for such work compares with it to skip a turn of
// the microtask queue; anyone else just awaits it.

/** Resolved with `undefined`; shared, never rejected. */
export const RESOLVED: Promise<void> = Promise.resolve();
