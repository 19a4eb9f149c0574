/**
 * Evaluation: paper-compatible generation metrics (metrics/) and exam accuracy (exam/).
 * Other evaluation parts (judge, review, reports) add their own exports here.
 */
export * from "./metrics/index.js";
export * from "./exam/index.js";
