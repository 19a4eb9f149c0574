/**
 * Backend selection and the thread-count owner: PEDGPT_KERNELS handling, the missing-addon error,
 * setThreads validation; the huge-page hint for weight buffers.
 */
import { readFileSync } from "node:fs";
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

  it("a parallel kernel right after setThreads runs on the new pool (regression: worker start-up race hung)", { timeout: 30_000 }, () => {
    const native = getNativeKernels();
    if (!native) {
      console.warn("[index.test] native addon not built; thread-pool start-up check skipped");
      return;
    }
    const n = 300_000; // above the element-wise grain, so the pool is used
    const a = new Float32Array(n).fill(1), b = new Float32Array(n).fill(2), out = new Float32Array(n);
    for (let i = 0; i < 200; i++) {
      setThreads(1 + (i % 2));
      out.fill(0);
      native.add(out, a, b, n);
      expect(out[n - 1]).toBe(3);
    }
  });

  it("setThreads validates and is reflected by getThreads", () => {
    expect(() => setThreads(0)).toThrow(/integer >= 1/);
    setThreads(1);
    expect(getThreads()).toBe(1);
    setThreads(2);
    expect(getThreads()).toBe(2);
  });
});

describe("huge-page advice for weight buffers", () => {
  it("the native addon advises the 2 MiB-aligned interior of a large buffer, nothing for a small one; the reference does nothing", () => {
    expect(referenceKernels.adviseHugePages(new Float32Array(1 << 22))).toBe(0);
    expect(() => referenceKernels.adviseHugePages([] as unknown as Float32Array)).toThrow(/adviseHugePages: buf must be a Float32Array/);
    const native = getNativeKernels();
    if (!native) return; // the addon is not built: the parity suite says so
    expect(native.adviseHugePages(new Int8Array(4096))).toBe(0);
    const big = new Float32Array(3 << 20); // 12 MiB: at least 4 whole aligned 2 MiB pages inside
    const advised = native.adviseHugePages(big);
    const thp = (() => {
      try {
        return readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8");
      } catch {
        return "";
      }
    })();
    if (/\[(always|madvise)\]/.test(thp)) {
      expect(advised).toBeGreaterThanOrEqual(8 << 20);
      expect(advised % (2 << 20)).toBe(0);
      expect(advised).toBeLessThanOrEqual(big.byteLength);
    } else {
      expect(advised === 0 || advised % (2 << 20) === 0).toBe(true);
    }
    big.fill(1); // the buffer is still ordinary memory
    expect(big[big.length - 1]).toBe(1);
  });
});
