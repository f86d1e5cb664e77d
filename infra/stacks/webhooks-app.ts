import { readFileSync } from "node:fs";
import { Tags, Validations, type App } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ServiceStack } from "./service-stack.js";
import type { DeploymentSettings } from "./settings.js";
import { StorageStack } from "./storage-stack.js";

export interface WebhooksStacks {
  readonly storage: StorageStack;
  readonly service: ServiceStack;
}

/** Stack names: `VirtualNumberWebhooks-<stage>-Storage` and `-Service`, so stages share an account safely. */
export const stackName = (stage: string, part: "Storage" | "Service") => `VirtualNumberWebhooks-${stage}-${part}`;

/**
 * The whole deployment: storage first, then the service that uses it. Shared by infra/app.ts
 * and the infrastructure tests, so the tests check exactly what `cdk synth` builds.
 */
export function addWebhooksStacks(app: App, settings: DeploymentSettings): WebhooksStacks {
  const storage = new StorageStack(app, stackName(settings.stage, "Storage"), {
    description: `Virtual Number Webhooks (${settings.stage}): tables and secrets key`,
    tableBilling: settings.tableBilling,
  });
  const service = new ServiceStack(app, stackName(settings.stage, "Service"), {
    description: `Virtual Number Webhooks (${settings.stage}): API, ingest, delivery, retries, observability`,
    settings,
    storage: storage.storage,
  });
  for (const stack of [storage, service]) {
    Tags.of(stack).add("service", "virtual-number-webhooks");
    Tags.of(stack).add("stage", settings.stage);
  }
  return { storage, service };
}

/**
 * cdk-nag's AWS Solutions rules run inside every synth (a finding fails it);
 * acknowledgements sit next to the construct they are about, each with its reason.
 */
export function addNagChecks(app: App): AwsSolutionsChecks {
  const checks = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(checks);
  return checks;
}

/**
 * The context `cdk synth` gets from cdk.json (settings and feature flags), for code that
 * builds the app without the CLI — the infrastructure tests — so they test the same templates.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as { context?: Record<string, unknown> };
  return { ...cdkJson.context };
}
