/**
 * Corpus outputs are written with the project's atomic writers (src/util/atomic.ts): JSON Lines
 * streams renamed into place on close, whole small files via temp + rename. Re-exported here so the
 * corpus modules keep one import path; there is no second implementation.
 */
export { JsonlWriter, writeFileAtomic, writeJsonAtomic } from "../../util/atomic.js";
