import type { ZodMiniType, core } from "./zod.js";

type ZodError = core.$ZodError;
export type { ZodMiniType };

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error the API may show a caller: its status, contract code and sentence are safe to expose. */
export class AppError extends Error {
  readonly expose = true;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super(400, "validation_error", message, details);
  }
  static fromZod(error: ZodError, prefix = ""): ValidationError {
    return new ValidationError("The request does not match the schema.", zodDetails(error, prefix));
  }
}
export class InvalidJsonError extends AppError {
  constructor(message = "The body is not valid JSON.") {
    super(400, "invalid_json", message);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = "A valid API key is required: Authorization: Bearer <key>.") {
    super(401, "unauthorized", message);
  }
}
export class ForbiddenError extends AppError {
  constructor(scope: string) {
    super(403, "forbidden", `This key lacks the scope ${scope}.`);
  }
}
export class NotFoundError extends AppError {
  constructor(what = "resource") {
    super(404, "not_found", `No such ${what}.`);
  }
}
export class WebhookLimitError extends AppError {
  constructor(limit: number) {
    super(409, "webhook_limit_reached", `A number has at most ${limit} webhooks.`);
  }
}
export class InvalidStateError extends AppError {
  constructor(message: string) {
    super(409, "invalid_state", message);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(limit: number) {
    super(413, "payload_too_large", `The body is larger than ${limit} bytes.`);
  }
}
export class UnsupportedMediaTypeError extends AppError {
  constructor() {
    super(415, "unsupported_media_type", "Send the body as Content-Type: application/json.");
  }
}
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds = 1, message = "Too many requests; slow down and retry.") {
    super(429, "rate_limited", message, undefined, {
      "retry-after": String(retryAfterSeconds),
    });
  }
}

export function zodDetails(error: ZodError, prefix = ""): ErrorDetail[] {
  const join = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter((p) => p !== "").join(".");
  return error.issues.flatMap((issue) =>
    // One detail per unknown field, at the field's own path, so a typo points at itself.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: join([...issue.path, key]), message: "unknown field" }))
      : [{ path: join(issue.path), message: issue.message }],
  );
}

/** The contract's error body. */
export function errorBody(error: AppError): { error: { code: string; message: string; details?: ErrorDetail[] } } {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
    },
  };
}
