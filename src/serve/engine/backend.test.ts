/** Our engine (worker thread, batched decoding) against the shared backend suite. */
import { backendSuite } from "../backend.case.js";
import { loadEngineGenerator } from "./backend.js";

backendSuite("engine", (m, o) => loadEngineGenerator(m.dir, o));
