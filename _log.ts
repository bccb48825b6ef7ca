// Logging through LogTape with a per-instance threshold. A library never
// configures LogTape: it stays silent until the application does. `logLevel`
// filters what one pool or proxy emits without touching the shared
// category's configuration (the Python original changed the module logger's
// level for every pool at once).
import { getLogger, type Logger, type LogLevel } from "@logtape/logtape";

const RANK: Record<LogLevel, number> = {
  trace: 0,
  debug: 1,
  info: 2,
  warning: 3,
  error: 4,
  fatal: 5,
};

/** Whether `level` is one of LogTape's level names. */
export function isLogLevel(level: unknown): level is LogLevel {
  return typeof level === "string" && Object.hasOwn(RANK, level);
}

/** A LogTape logger that drops records below its own threshold. */
export class InstanceLog {
  readonly #logger: Logger;
  readonly #min: number;

  constructor(
    category: readonly string[],
    level: LogLevel | undefined,
    properties: Record<string, unknown>,
  ) {
    this.#logger = getLogger(category).with(properties);
    this.#min = level === undefined ? 0 : RANK[level];
  }

  /** Whether a record at `level` would be passed on to LogTape. */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#min;
  }

  debug(message: string, props?: Record<string, unknown>): void {
    if (this.#min <= RANK.debug) this.#logger.debug(message, props ?? {});
  }

  info(message: string, props?: Record<string, unknown>): void {
    if (this.#min <= RANK.info) this.#logger.info(message, props ?? {});
  }

  warn(message: string, props?: Record<string, unknown>): void {
    if (this.#min <= RANK.warning) this.#logger.warn(message, props ?? {});
  }

  error(message: string, props?: Record<string, unknown>): void {
    if (this.#min <= RANK.error) this.#logger.error(message, props ?? {});
  }
}
