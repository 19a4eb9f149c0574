/**
 * Backend selection and the thread-count owner: PEDGPT_KERNELS handling, the missing-addon error,
 * setThreads validation.
 */
import { afterEach, describe, expect, it } from "vitest";
import { getKernels, getNativeKernels, getThreads, referenceKernels, setThreads } from "./index.js";
import { loadNativeAddon } from "./native.js";

const saved = process.env.PEDGPT_KERNELS;
afterEach(() => {
  if (saved === undefined) delete process.env.PEDGPT_KERNELS;
  else process.env.PEDGPT_KERNELS = saved;
});

describe("kernel backend selection", () => {
  it("PEDGPT_KERNELS=reference forces the reference kernels", () => {
    process.env.PEDGPT_KERNELS = "reference";
    expect(getKernels()).toBe(referenceKernels);
  });

  it("an unknown PEDGPT_KERNELS value is an error naming the accepted values", () => {
    process.env.PEDGPT_KERNELS = "gpu";
    expect(() => getKernels()).toThrow(/PEDGPT_KERNELS must be "native", "reference" or "auto", got "gpu"/);
  });

  it("the default is the native addon when it is built, else the reference", () => {
    delete process.env.PEDGPT_KERNELS;
    const native = getNativeKernels();
    expect(getKernels()).toBe(native ?? referenceKernels);
    if (native) {
      process.env.PEDGPT_KERNELS = "native";
      expect(getKernels().name).toBe("native");
    }
  });

  it("a missing addon file is reported with its path", () => {
    expect(() => loadNativeAddon("/nonexistent/pedgpt_native.node")).toThrow(/not found at \/nonexistent\/pedgpt_native.node/);
  });

  it("setThreads validates and is reflected by getThreads", () => {
    expect(() => setThreads(0)).toThrow(/integer >= 1/);
    setThreads(1);
    expect(getThreads()).toBe(1);
    setThreads(2);
    expect(getThreads()).toBe(2);
  });
});
