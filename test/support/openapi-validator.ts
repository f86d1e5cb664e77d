import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

/*
 * Checks an HTTP answer against the OpenAPI document the service serves: its status must be
 * declared for the operation, and its body must match that answer's schema (ajv, JSON Schema
 * 2020-12, which OpenAPI 3.1 uses). An answer to a path the document does not have (the 404 of
 * an unknown route) must be the Error body.
 */

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

export interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

interface Operation {
  responses: Record<string, { content?: Record<string, unknown> }>;
}

export interface ResponseValidator {
  /** Throws with what is wrong; answers the operation it was checked against. */
  check(method: string, path: string, answer: Answer): string;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

export function responseValidator(document: { paths: Record<string, Record<string, Operation>> }): ResponseValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, "openapi");
  const compiled = new Map<string, ValidateFunction>();
  const schemaAt = (ref: string) => {
    let v = compiled.get(ref);
    if (!v) compiled.set(ref, (v = ajv.compile({ $ref: `openapi#/${ref}` })));
    return v;
  };
  // Literal segments outrank parameters, so /webhooks/{id}/recover is not taken for something else.
  const templates = Object.keys(document.paths)
    .map((template) => ({ template, regex: new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`) }))
    .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));

  return {
    check(method, path, answer) {
      const bare = path.split("?")[0]!;
      const template = templates.find((t) => t.regex.test(bare))?.template;
      const operation = template ? document.paths[template]![method.toLowerCase()] : undefined;
      const what = template ? `${method} ${template}` : `${method} ${bare} (no such path: the Error body)`;
      const fail = (why: string) => {
        throw new Error(`OpenAPI: ${what} answered ${answer.status}: ${why}\n${answer.text.slice(0, 500)}`);
      };
      let ref: string | null;
      if (!operation) {
        if (answer.status < 400) fail("a path or method the document does not have answered a success");
        ref = pointer("components", "schemas", "Error");
      } else {
        const declared = operation.responses[String(answer.status)] ? String(answer.status) : operation.responses.default ? "default" : null;
        if (!declared) fail(`status not declared (declared: ${Object.keys(operation.responses).join(", ")})`);
        let response = operation.responses[declared!]! as { content?: Record<string, unknown>; $ref?: string };
        let base = pointer("paths", template!, method.toLowerCase(), "responses", declared!);
        if (response.$ref) {
          base = response.$ref.slice(2);
          const [, , name] = base.split("/");
          response = (document as any).components.responses[name!];
        }
        ref = response.content?.["application/json"] ? `${base}/${pointer("content", "application/json", "schema")}` : null;
      }
      if (ref === null) {
        if (answer.text !== "") fail("a body where the document declares none");
        return what;
      }
      if (!(answer.headers.get("content-type") ?? "").startsWith("application/json")) fail(`content-type ${answer.headers.get("content-type")}`);
      let body: unknown;
      try {
        body = JSON.parse(answer.text);
      } catch {
        fail("not JSON");
      }
      const validate = schemaAt(ref);
      if (!validate(body)) fail(ajv.errorsText(validate.errors, { separator: "; " }));
      return what;
    },
  };
}
