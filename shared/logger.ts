/**
 * One structured JSON logger for every function and the local runtime. Lines carry
 * ids (event_id, delivery_id, webhook_id, attempt, status) — never a secret, a token
 * or a message body: those live only in the delivery log customers read.
 */
type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;
/** Fields plus an optional `error`, which is reduced to its name, code and message. */
export type LogInput = { [key: string]: string | number | boolean | null | undefined | unknown };

export interface Logger {
  debug(message: string, fields?: LogInput): void;
  info(message: string, fields?: LogInput): void;
  warn(message: string, fields?: LogInput): void;
  error(message: string, fields?: LogInput): void;
  child(fields: LogFields): Logger;
  /** Writes CloudWatch Embedded Metric Format figures through this logger's output. */
  metrics(namespace: string, dimensions: Record<string, string>, metrics: Record<string, { value: number; unit: "Count" | "Milliseconds" }>): void;
}

/** An error as a log line may show it: name, code and message (AWS SDK and undici messages carry no secrets). */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { error_name: error.name, error_code: typeof code === "string" ? code : undefined, error_message: error.message.slice(0, 300) };
  }
  return { error_message: String(error).slice(0, 300) };
}

export function createLogger(base: LogFields = {}, write: (line: string) => void = (l) => process.stdout.write(l + "\n")): Logger {
  const min = ORDER[(process.env.LOG_LEVEL as Level) ?? "info"] ?? ORDER.info;
  const log = (level: Level, message: string, fields?: LogInput) => {
    if (ORDER[level] < min) return;
    const { error, ...rest } = fields ?? {};
    const line: Record<string, unknown> = { level, time: new Date().toISOString(), message, ...base, ...rest };
    if (error !== undefined) Object.assign(line, errorFields(error));
    write(JSON.stringify(line));
  };
  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }, write),
    metrics: (namespace, dimensions, metrics) => emitMetrics(namespace, dimensions, metrics, write),
  };
}

export const logger = createLogger({ service: "virtual-number-webhooks" });

/**
 * CloudWatch Embedded Metric Format: one JSON line that CloudWatch turns into metrics,
 * without a PutMetricData call on the hot path.
 */
export function emitMetrics(
  namespace: string,
  dimensions: Record<string, string>,
  metrics: Record<string, { value: number; unit: "Count" | "Milliseconds" }>,
  write: (line: string) => void = (l) => process.stdout.write(l + "\n"),
): void {
  const names = Object.keys(metrics);
  if (names.length === 0) return;
  const line: Record<string, unknown> = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        { Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: names.map((n) => ({ Name: n, Unit: metrics[n]!.unit })) },
      ],
    },
    ...dimensions,
  };
  for (const n of names) line[n] = metrics[n]!.value;
  write(JSON.stringify(line));
}
