import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { settingsFromContext } from "./stacks/settings.js";
import { addNagChecks, addWebhooksStacks } from "./stacks/webhooks-app.js";

/*
 * `npx cdk synth` / `npx cdk deploy --all`. Settings come from context (cdk.json, or -c key=value):
 * stage, logRetentionDays, alarmEmail, tableBillingMode, apiRateLimit, ... (see stacks/settings.ts).
 */
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const app = new App();
addWebhooksStacks(app, settingsFromContext(app, pkg.version));
addNagChecks(app);
