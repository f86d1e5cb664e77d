import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { PortalFile } from "./build.js";
import { createPortalServer } from "./serve.js";

/** The built portal, written beside the bundled handler by the CDK bundling hook (infra/constructs/portal-function.ts). */
function readBuilt(dir: string): PortalFile[] {
  const files: PortalFile[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push({ path: relative(dir, full).split("\\").join("/"), body: readFileSync(full) });
    }
  };
  walk(dir);
  return files;
}

let serve: ((event: APIGatewayProxyEventV2) => APIGatewayProxyStructuredResultV2) | undefined;

/** GET /portal and /portal/{proxy+}: the customer portal's page and assets, on the API's own origin. */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  serve ??= createPortalServer(readBuilt(fileURLToPath(new URL("./portal-assets/", import.meta.url))), process.env.PORTAL_FRAME_ANCESTORS ?? "'none'");
  return serve(event);
}
