// Logging through LogTape with a per-instance threshold. A library never
// configures LogTape: it stays silent until the application does. `logLevel`
// filters what one pool or proxy emits without touching the shared
// category's configuration (the Python original changed the module logger's
// level for every pool at once).
import {
  compareLogLevel,
  getLogger,
  isLogLevel as isLogTapeLevel,
  type Logger,
  type LogLevel,
} from "@logtape/logtape";

/** Whether `level` is one of LogTape's level names. */
export function isLogLevel(level: unknown): level is LogLevel {
  return typeof level === "string" && isLogTapeLevel(level);
}

/** A LogTape logger that drops records below its own threshold. */
export class InstanceLog {
  readonly #logger: Logger;
  readonly #debug: boolean;
  readonly #info: boolean;
  readonly #warn: boolean;
  readonly #error: boolean;

  constructor(
    category: readonly string[],
    level: LogLevel | undefined,
    properties: Record<string, unknown>,
  ) {
    this.#logger = getLogger(category).with(properties);
    const at = (l: LogLevel) =>
      level === undefined || compareLogLevel(l, level) >= 0;
    this.#debug = at("debug");
    this.#info = at("info");
    this.#warn = at("warning");
    this.#error = at("error");
  }

  /** Whether a record at `level` would be passed on to LogTape. */
  enabled(level: "debug" | "info" | "warning" | "error"): boolean {
    return level === "debug"
      ? this.#debug
      : level === "info"
      ? this.#info
      : level === "warning"
      ? this.#warn
      : this.#error;
  }

  debug(message: string, props?: Record<string, unknown>): void {
    if (this.#debug) this.#logger.debug(message, props ?? {});
  }

  info(message: string, props?: Record<string, unknown>): void {
    if (this.#info) this.#logger.info(message, props ?? {});
  }

  warn(message: string, props?: Record<string, unknown>): void {
    if (this.#warn) this.#logger.warn(message, props ?? {});
  }

  error(message: string, props?: Record<string, unknown>): void {
    if (this.#error) this.#logger.error(message, props ?? {});
  }
}
