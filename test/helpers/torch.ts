/**
 * The Python with PyTorch that the torch-backend tests run (found as `pedgpt train --backend torch`
 * finds it), or null with the reason printed once, so a machine without torch skips them saying why.
 */
import { findPython, type PythonInfo } from "../../src/train/torch/python.js";

export function torchForTests(what: string): PythonInfo | null {
  try {
    return findPython();
  } catch (e) {
    console.warn(`${what} skipped: ${(e as Error).message}`);
    return null;
  }
}
