import { writePortal } from "./build.js";

/** `tsx functions/portal/build-cli.ts <dir>`: the CDK bundling hook that puts the built portal beside the handler. */
const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: tsx functions/portal/build-cli.ts <output dir>\n");
  process.exit(2);
}
const built = await writePortal(dir);
process.stdout.write(`portal: ${built.files.length} files written to ${dir}\n`);
