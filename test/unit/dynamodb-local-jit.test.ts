import { describe, expect, it } from "vitest";
import { jitOptions } from "../../infra/local/dynamodb-local.js";

describe("LOCAL_DYNAMODB_JIT", () => {
  it("keeps the JVM's tiered compilers unless c1 is asked for", () => {
    expect(jitOptions(undefined)).toEqual([]);
    expect(jitOptions("")).toEqual([]);
    expect(jitOptions("c2")).toEqual([]);
    expect(jitOptions(" c1 ")).toEqual(["-XX:TieredStopAtLevel=1"]);
  });

  it("refuses anything else in a sentence", () => {
    expect(() => jitOptions("C1")).toThrow('LOCAL_DYNAMODB_JIT must be c1 or c2, not "C1"; leave it unset for c2.');
  });
});
