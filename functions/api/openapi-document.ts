import * as z from "../../shared/domain/zod.js";
import { ERROR_CODES } from "../../shared/domain/errors.js";
import { EVENT_NAMES, EventBatchSchema, EventSchema, type EventName } from "../../shared/domain/events.js";
import {
  AttemptViewSchema,
  BatchResultsSchema,
  DeliveredEventSchemas,
  DeliveryHeadersSchema,
  DeliveryPageSchema,
  DeliveryViewSchema,
  DeliveryWithAttemptsSchema,
  ErrorBodySchema,
  IngestResultSchema,
  RecoveredSchema,
  RotatedSecretSchema,
  TestResultSchema,
  WebhookCreatedSchema,
  WebhookListSchema,
  WebhookViewSchema,
} from "../../shared/domain/views.js";

/*
 * The OpenAPI 3.1 document, built from the route table (infra/routes.ts) and the zod schemas
 * the service validates with and answers in (z.toJSONSchema; zod 4 converts zod/mini schemas
 * too). Nothing here restates a field: a schema changes in one place and the document follows.
 */

type Schema = z.ZodMiniType;

/** What a route says about itself for the document. */
export interface OperationDoc {
  summary: string;
  description?: string;
  tag: string;
  /** Path parameters by name; every `{name}` of the path must have one. */
  path?: Record<string, Schema>;
  /** A strict object whose properties are the query parameters. */
  query?: Schema;
  /** The request body's schema (JSON). */
  body?: Schema;
  /** The body may be left out (e.g. `test`'s defaults). */
  bodyOptional?: boolean;
  /** Success answers: status → body schema (null: no body), or with a description of its own. */
  responses: Record<number, Schema | null | { description: string; schema: Schema }>;
  /** Error statuses only the use case knows of (e.g. 409); the route's shape implies the rest. */
  errors?: readonly number[];
}

/** A route as the table and the handlers see it. */
export interface RouteShape {
  method: string;
  path: string;
  scope: string | null;
  body: "none" | "json";
}

const EVENT_COMPONENT: Record<EventName, string> = {
  incoming_call: "IncomingCall",
  missed_call: "MissedCall",
  call_completed: "CallCompleted",
  voicemail_received: "VoicemailReceived",
  sms_sent: "SmsSent",
  sms_received: "SmsReceived",
  call_status_update: "CallStatusUpdate",
};

/** The batch route validates each event on its own; the document shows each item as the Event it must be. */
const EventBatchDoc = z.extend(EventBatchSchema, { events: z.array(EventSchema).check(...((EventBatchSchema.shape.events.def.checks ?? []) as any[])) });

/** The events function's routes (functions/ingest/app.ts), which live in another Lambda. */
export const INGEST_ROUTES: Record<string, Pick<RouteShape, "scope" | "body"> & { doc: OperationDoc }> = {
  "POST /v1/events": {
    scope: "events:write",
    body: "json",
    doc: {
      summary: "Accept one event from the telephony backend",
      description: "The same `event_id` posted again within 24 h answers the first result and delivers nothing new.",
      tag: "events",
      body: EventSchema,
      responses: { 202: IngestResultSchema },
    },
  },
  "POST /v1/events/batch": {
    scope: "events:write",
    body: "json",
    doc: {
      summary: "Accept 1 to 100 events",
      description: "Each event answers in input order, with its result or its own error body: one bad event does not sink the others.",
      tag: "events",
      body: EventBatchDoc,
      responses: { 202: BatchResultsSchema },
    },
  },
};

const PARAM_COMPONENT: Record<string, string> = { number: "E164", webhook_id: "WebhookId", delivery_id: "DeliveryId" };

const STATUS_TEXT: Record<number, string> = {
  400: "The request does not match the schema (`validation_error`, with `details`) or its body is not JSON (`invalid_json`).",
  401: "No key, an unknown key or a revoked key (`unauthorized`).",
  403: "The key lacks the route's scope (`forbidden`).",
  404: "Unknown route, number, webhook or delivery — or one of another account (`not_found`).",
  409: "`webhook_limit_reached` (an 11th webhook on a number) or `invalid_state` (the action does not fit the current state).",
  413: "The body is over 256 KiB (`payload_too_large`).",
  415: "The body is not `application/json` (`unsupported_media_type`).",
  429: "Throttled (`rate_limited`); retry after the `Retry-After` seconds.",
  500: "Something failed on the service's side (`internal_error`); never a stack trace or a secret.",
  503: "Concurrent changes to the same number won every retry (`concurrent_update`); nothing was changed — retry after the `Retry-After` seconds.",
};

function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/v1\//, "")
    .replace(/\.json$/, "")
    .split("/")
    .map((s) => s.replace(/[{}]/g, "").replace(/^by_/, ""))
    .flatMap((s) => s.split(/[-_]/))
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join("");
}

const pascal = (id: string) => id[0]!.toUpperCase() + id.slice(1);

/** Converts schemas in one io mode; shared named schemas become `$ref`s to components. */
class Components {
  private readonly registry = z.registry<{ id: string }>();
  private readonly ids = new Map<Schema, string>();
  constructor(private readonly io: "input" | "output") {}

  /** Registers a schema (once) under an id; answers its `$ref`. */
  ref(schema: Schema, id: string): { $ref: string } {
    let known = this.ids.get(schema);
    if (!known) {
      known = id;
      this.ids.set(schema, id);
      this.registry.add(schema, { id });
    }
    return { $ref: `#/components/schemas/${known}` };
  }

  render(): Record<string, Record<string, unknown>> {
    const { schemas } = z.toJSONSchema(this.registry, {
      target: "draft-2020-12",
      io: this.io,
      unrepresentable: "any",
      uri: (id) => `#/components/schemas/${id}`,
    }) as { schemas: Record<string, Record<string, unknown>> };
    for (const s of Object.values(schemas)) {
      delete s.$schema;
      delete s.$id;
    }
    return schemas;
  }
}

export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Record<string, any>>;
  webhooks: Record<string, Record<string, any>>;
  components: { schemas: Record<string, any>; securitySchemes: Record<string, any>; responses: Record<string, any> };
  [key: string]: unknown;
}

/**
 * The document for `routes` (the route table, in its order). A route with no OperationDoc is
 * still listed, marked `x-undocumented`, so a missing declaration shows (and the test fails).
 */
export function buildOpenApiDocument(input: {
  routes: readonly { method: string; path: string }[];
  shapes: Record<string, Pick<RouteShape, "scope" | "body">>;
  operations: Record<string, OperationDoc>;
  version: string;
}): OpenApiDocument {
  const requests = new Components("input");
  const answers = new Components("output");

  // Named schemas first, so operations that use them get a $ref rather than a copy.
  const eventRef = requests.ref(EventSchema, "Event");
  for (const option of EventSchema.def.options) requests.ref(option, `${EVENT_COMPONENT[option.shape.event.def.values[0] as EventName]}Event`);
  answers.ref(ErrorBodySchema, "Error");
  answers.ref(WebhookViewSchema, "Webhook");
  answers.ref(WebhookCreatedSchema, "WebhookWithSecret");
  answers.ref(WebhookListSchema, "WebhookList");
  answers.ref(RotatedSecretSchema, "RotatedSecret");
  answers.ref(DeliveryViewSchema, "Delivery");
  answers.ref(AttemptViewSchema, "Attempt");
  answers.ref(DeliveryWithAttemptsSchema, "DeliveryWithAttempts");
  answers.ref(DeliveryPageSchema, "DeliveryPage");
  answers.ref(TestResultSchema, "TestResult");
  answers.ref(RecoveredSchema, "Recovered");
  answers.ref(IngestResultSchema, "IngestResult");
  answers.ref(BatchResultsSchema, "BatchResults");
  const delivered = EVENT_NAMES.map((name) => answers.ref(DeliveredEventSchemas[name], `${EVENT_COMPONENT[name]}Delivery`));

  const errorResponse = (status: number) => ({ $ref: `#/components/responses/Error${status}` });
  const usedErrors = new Set<number>();
  const paths: OpenApiDocument["paths"] = {};
  const queryParams: { target: Record<string, unknown>[]; id: string }[] = [];

  for (const route of input.routes) {
    const key = `${route.method} ${route.path}`;
    const shape = input.shapes[key] ?? { scope: null, body: "none" as const };
    const doc = input.operations[key];
    const id = operationId(route.method, route.path);
    const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const parameters: Record<string, unknown>[] = names.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: doc?.path?.[name] ? requests.ref(doc.path[name]!, PARAM_COMPONENT[name] ?? `${pascal(name)}Param`) : { type: "string" },
      ...(name === "number" ? { description: "E.164; send the `+` as `%2B` or bare" } : {}),
    }));
    if (doc?.query) queryParams.push({ target: parameters, id: `${pascal(id)}Query` }), requests.ref(doc.query, `${pascal(id)}Query`);

    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(doc?.responses ?? {})) {
      const { description, schema } =
        answer === null ? { description: "No body", schema: null } : "description" in answer && "schema" in answer ? answer : { description: "OK", schema: answer as Schema };
      responses[status] = {
        description,
        ...(schema ? { content: { "application/json": { schema: answers.ref(schema, `${pascal(id)}Response`) } } } : {}),
      };
    }
    const errors = new Set<number>(doc?.errors ?? []);
    if (shape.scope) [401, 403, 429].forEach((s) => errors.add(s));
    if (names.length > 0) errors.add(404);
    if (shape.body !== "none" || doc?.query || names.includes("number")) errors.add(400);
    if (shape.body !== "none") [413, 415].forEach((s) => errors.add(s));
    errors.add(500);
    for (const status of [...errors].sort()) {
      usedErrors.add(status);
      responses[String(status)] = errorResponse(status);
    }

    const operation: Record<string, unknown> = {
      operationId: id,
      summary: doc?.summary ?? `${key} (undocumented)`,
      description: [doc?.description ?? doc?.summary ?? "Not yet documented.", shape.scope ? `Scope: \`${shape.scope}\`.` : "No key needed."].join(" "),
      tags: [doc?.tag ?? "undocumented"],
      security: shape.scope ? [{ apiKey: [] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(doc?.body
        ? {
            requestBody: {
              required: !doc.bodyOptional,
              content: { "application/json": { schema: doc.body === EventSchema ? eventRef : requests.ref(doc.body, `${pascal(id)}Request`) } },
            },
          }
        : {}),
      responses,
      ...(shape.scope ? { "x-required-scope": shape.scope } : {}),
      ...(doc ? {} : { "x-undocumented": true }),
    };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }

  const requestSchemas = requests.render();
  // Query parameters: one per property of the route's query schema, as rendered.
  for (const { target, id } of queryParams) {
    const query = requestSchemas[id]!;
    delete requestSchemas[id];
    const required = new Set((query.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries(query.properties as Record<string, unknown>)) {
      target.push({ name, in: "query", required: required.has(name), schema });
    }
  }
  const answerSchemas = answers.render();
  for (const name of Object.keys(answerSchemas)) if (name in requestSchemas) throw new Error(`schema ${name} is both a request and an answer`);

  const errorResponses: Record<string, unknown> = {};
  for (const status of [...usedErrors].sort()) {
    errorResponses[`Error${status}`] = {
      description: STATUS_TEXT[status] ?? "Error",
      ...(status === 429 || status === 503 ? { headers: { "Retry-After": { description: "Seconds to wait", schema: { type: "string", pattern: "^[0-9]+$" } } } } : {}),
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }

  const headerSchemas = z.toJSONSchema(DeliveryHeadersSchema, { target: "draft-2020-12", io: "output" }) as {
    properties: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const receiverHeaders = Object.entries(headerSchemas.properties)
    .filter(([name]) => name !== "content-type")
    .map(([name, schema]) => {
      const { description, ...rest } = schema;
      return { name, in: "header", required: headerSchemas.required?.includes(name) ?? false, description, schema: rest };
    });

  return {
    openapi: "3.1.0",
    info: {
      title: "Virtual Number Webhooks",
      version: input.version,
      summary: "Signed, retried, logged webhooks for virtual-number call and SMS events.",
      description:
        "Every non-2xx answer has the `Error` body; its `code` is one of: " +
        ERROR_CODES.map((c) => `\`${c}\``).join(", ") +
        ". Every call but `GET /v1/health` and this document carries `Authorization: Bearer <api key>`; " +
        "`x-required-scope` names the scope the key must hold.",
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
      contact: { name: "LimePhone" },
    },
    servers: [{ url: "http://127.0.0.1:3000", description: "The local runtime (`npm start`); a deployed stack serves the same paths under its API URL" }],
    tags: [
      { name: "service", description: "Health and this document" },
      { name: "events", description: "The telephony backend's door (system keys)" },
      { name: "numbers", description: "Which account holds a number (system keys)" },
      { name: "webhooks", description: "A number's webhooks (account keys)" },
      { name: "deliveries", description: "A webhook's delivery log, redeliver and recover (account keys)" },
      ...(input.routes.some((r) => !input.operations[`${r.method} ${r.path}`]) ? [{ name: "undocumented", description: "Routes without an OperationDoc" }] : []),
    ],
    security: [{ apiKey: [] }],
    paths,
    webhooks: {
      delivery: {
        post: {
          operationId: "receiveDelivery",
          summary: "What your endpoint receives",
          description:
            "`POST <url>` with `Content-Type: application/json`: the event as the backend sent it, minus `event_id` and the groups the webhook does not include. " +
            "Verify `X-LimePhone-Signature` (hex HMAC-SHA256 of the raw body keyed by the whole `whsec_` secret) or `webhook-signature` (Standard Webhooks). " +
            "During a secret rotation `X-LimePhone-Signature` uses the previous secret and `webhook-signature` holds one `v1,` value per live secret. " +
            "A 2xx within 5 seconds is success; anything else is retried (1, 5, 15, 30 minutes); 410 Gone fails the delivery and disables the webhook.",
          tags: ["deliveries"],
          security: [],
          parameters: receiverHeaders,
          requestBody: {
            required: true,
            content: { "application/json": { schema: { oneOf: delivered, discriminator: { propertyName: "event" } } } },
          },
          responses: {
            "200": { description: "Any 2xx within 5 seconds: delivered" },
            "410": { description: "Gone: the delivery fails at once and the webhook is disabled (`endpoint_gone`)" },
          },
        },
      },
    },
    components: {
      schemas: { ...requestSchemas, ...answerSchemas },
      responses: errorResponses,
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "An API key (`vnw_…`) made with `npm run admin -- create-key`; its scopes decide the routes it may call." },
      },
    },
  };
}
