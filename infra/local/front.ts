import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ROUTES, DEFAULT_ROUTE_FN, isPortalPath, routeKey, type FunctionName } from "../routes.js";
import { buildPortal } from "../../functions/portal/build.js";
import { createPortalServer } from "../../functions/portal/serve.js";
import { MAX_BODY_BYTES } from "../../shared/adapters/api/http.js";
import { PayloadTooLargeError, errorBody } from "../../shared/domain/errors.js";
import type { Logger } from "../../shared/logger.js";

type HttpHandler = (event: APIGatewayProxyEventV2, context: any) => Promise<APIGatewayProxyStructuredResultV2>;

const compiled = ROUTES.map((r) => {
  const names: string[] = [];
  const pattern = r.path.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { ...r, key: routeKey(r), names, regex: new RegExp(`^${pattern}$`) };
});

/** Matches a request the way API Gateway's HTTP API does with this stack's routes. */
export function matchRoute(method: string, path: string): { fn: FunctionName; routeKey: string; pathParameters?: Record<string, string> } {
  for (const r of compiled) {
    if (r.method !== method) continue;
    const m = r.regex.exec(path);
    if (m) return { fn: r.fn, routeKey: r.key, pathParameters: Object.fromEntries(r.names.map((n, i) => [n, m[i + 1]!])) };
  }
  return { fn: DEFAULT_ROUTE_FN, routeKey: "$default" };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2) {
  res.statusCode = result.statusCode ?? 200;
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, String(v));
  res.end(result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, "base64") : result.body);
}

/**
 * The local HTTP front: turns a request into the API Gateway (HTTP API, payload 2.0)
 * event the Lambda handlers receive and writes their answer back. Requests under
 * /_aws/ go to the local stand-ins for services with no local twin.
 */
export function createFront(options: {
  handlers: () => Promise<Record<FunctionName, HttpHandler>>;
  standIns: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | undefined;
  logger: Logger;
}): Server {
  // The portal is built once, on its first request (esbuild, ~100 ms), and served as the Lambda serves it.
  let portal: Promise<ReturnType<typeof createPortalServer>> | undefined;
  return createServer(async (req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
      if (url.pathname.startsWith("/_aws/")) {
        await options.standIns(req, res, url);
        // A path no stand-in serves is answered, not left hanging.
        if (!res.headersSent) {
          res.setHeader("x-amzn-errortype", "UnknownOperationException");
          send(res, { statusCode: 404, headers: { "content-type": "application/json" }, body: JSON.stringify({ Message: "no local stand-in serves this path" }) });
          req.resume();
        }
        return;
      }
      const method = (req.method ?? "GET").toUpperCase();
      if (isPortalPath(method, url.pathname)) {
        portal ??= buildPortal().then((b) => createPortalServer(b.files, process.env.PORTAL_FRAME_ANCESTORS ?? "'none'"));
        send(res, (await portal)({ rawPath: url.pathname, headers: { "accept-encoding": String(req.headers["accept-encoding"] ?? "") } }));
        return;
      }
      const route = matchRoute(method, url.pathname);
      // Stop reading past the limit instead of buffering whatever is sent.
      const declared = Number(req.headers["content-length"] ?? 0);
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = declared > MAX_BODY_BYTES;
      if (!tooLarge) {
        for await (const c of req) {
          size += (c as Buffer).length;
          if (size > MAX_BODY_BYTES) {
            tooLarge = true;
            break;
          }
          chunks.push(c as Buffer);
        }
      }
      if (tooLarge) {
        const e = new PayloadTooLargeError(MAX_BODY_BYTES);
        res.setHeader("connection", "close");
        send(res, { statusCode: 413, headers: { "content-type": "application/json" }, body: JSON.stringify(errorBody(e)) });
        req.destroy();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(",") : v;
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
      const requestId = randomUUID();
      const event: APIGatewayProxyEventV2 = {
        version: "2.0",
        routeKey: route.routeKey,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(url.search ? { queryStringParameters: query } : {}),
        ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
        requestContext: {
          accountId: "123456789012",
          apiId: "local",
          domainName: "127.0.0.1",
          domainPrefix: "local",
          http: { method, path: url.pathname, protocol: "HTTP/1.1", sourceIp: req.socket.remoteAddress ?? "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
          requestId,
          routeKey: route.routeKey,
          stage: "$default",
          time: new Date(started).toISOString(),
          timeEpoch: started,
        },
        ...(chunks.length ? { body: Buffer.concat(chunks).toString("utf8") } : {}),
        isBase64Encoded: false,
      };
      const handlers = await options.handlers();
      const result = await handlers[route.fn](event, { awsRequestId: requestId, functionName: route.fn });
      res.setHeader("x-request-id", requestId);
      send(res, result);
      options.logger.debug("request", { method, route: route.routeKey, status: result.statusCode ?? 200, duration_ms: Date.now() - started });
    } catch (error) {
      options.logger.error("local front failed", { error });
      if (!res.headersSent) {
        send(res, { statusCode: 500, headers: { "content-type": "application/json" }, body: JSON.stringify({ error: { code: "internal_error", message: "Something went wrong on our side." } }) });
      } else res.end();
    }
  });
}
