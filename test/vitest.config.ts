import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Kept in test/ (the top level holds only what the project's layout names); paths are from the project root.
export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["test/**/*.test.ts"],
    // Integration and end-to-end files each start embedded services (a JVM among them):
    // two at a time fits this 2-core machine.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // expect.poll waits for what a loaded CI machine may take more than its default second to show
    // (a portal save answered by the local runtime); a condition that never holds still fails.
    expect: { poll: { timeout: 10_000 } },
    // DynamoDB Local with C1 only: a test's JVM lives seconds to minutes, too short for C2's compiling
    // to pay back (the integration and e2e suites: 233 → 182 s on this machine).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", LOCAL_DYNAMODB_JIT: "c1" },
    reporters: ["default", ["json", { outputFile: "node_modules/.cache/vitest-results.json" }]],
  },
});
