import type { ZodMiniType, core } from "./zod.js";
import type { ErrorBody } from "./views.js";

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
/**
 * Other changes to the same number won every retry (DynamoDB TransactionConflict): nothing was
 * changed, and the same request is expected to succeed shortly — never a wrong 404 or 409.
 */
export class ConcurrentUpdateError extends AppError {
  constructor(retryAfterSeconds = 1) {
    super(503, "concurrent_update", "Another change to this number is in progress; nothing was changed. Retry shortly.", undefined, {
      "retry-after": String(retryAfterSeconds),
    });
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

/** Every code the contract's error body may carry (contract section 1). */
export const ERROR_CODES = [
  "validation_error",
  "invalid_json",
  "unauthorized",
  "forbidden",
  "not_found",
  "webhook_limit_reached",
  "invalid_state",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "internal_error",
  // Beyond contract section 1: a write that lost to concurrent writes every time it was retried (503).
  "concurrent_update",
] as const;

// The error body's schema (for the OpenAPI document) is in ./views.ts, which no function builds at cold start.
export type { ErrorBody } from "./views.js";

/** The contract's error body. */
export function errorBody(error: AppError): ErrorBody {
  return {
    error: {
      code: error.code as ErrorBody["error"]["code"],
      message: error.message,
      ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
    },
  };
}
