// Build-time probe for native/binding.gyp (run by gyp, not at runtime).
//   node configure.cjs cflags   -> SIMD flags for this machine: "-mavx2 -mfma" when the CPU has both,
//                                  nothing otherwise (PEDGPT_NATIVE_SIMD=none|avx2 overrides).
//   node configure.cjs check    -> fails with an install hint when OpenBLAS is missing.
// The probe never emits -march=native: a binary built on one CI machine must run on its twins.
"use strict";
const fs = require("node:fs");

const HINT =
  "pedgpt native build: OpenBLAS headers/library not found (cblas.h, libopenblas.so).\n" +
  "Install the build dependencies, then rerun `npm run build:native`:\n" +
  "    sudo apt-get install -y libopenblas-dev g++ make python3\n";

function onPath(cmd) {
  return (process.env.PATH || "").split(":").some((dir) => dir && fs.existsSync(`${dir}/${cmd}`));
}

function check() {
  const tools = ["g++", "make"].filter((t) => !onPath(t));
  if (tools.length > 0) {
    process.stderr.write(`pedgpt native build: ${tools.join(" and ")} not found on PATH.\n` + HINT.split("\n").slice(1).join("\n"));
    process.exit(1);
  }
  const headers = ["/usr/include/cblas.h", "/usr/include/x86_64-linux-gnu/cblas.h", "/usr/include/aarch64-linux-gnu/cblas.h", "/usr/include/openblas/cblas.h"];
  const libs = ["/usr/lib/x86_64-linux-gnu/libopenblas.so", "/usr/lib/aarch64-linux-gnu/libopenblas.so", "/usr/lib/libopenblas.so", "/usr/lib64/libopenblas.so"];
  if (!headers.some((p) => fs.existsSync(p)) || !libs.some((p) => fs.existsSync(p))) {
    process.stderr.write(HINT);
    process.exit(1);
  }
}

function cflags() {
  const mode = (process.env.PEDGPT_NATIVE_SIMD || "auto").toLowerCase();
  if (mode === "none") return "";
  if (mode === "avx2") return "-mavx2 -mfma";
  let info = "";
  try {
    info = fs.readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
  const flags = new Set((info.match(/^flags\s*:(.*)$/m)?.[1] ?? "").trim().split(/\s+/));
  return flags.has("avx2") && flags.has("fma") ? "-mavx2 -mfma" : "";
}

const cmd = process.argv[2];
if (cmd === "check") check();
else if (cmd === "cflags") process.stdout.write(cflags());
else {
  process.stderr.write("usage: node configure.cjs check|cflags\n");
  process.exit(2);
}
