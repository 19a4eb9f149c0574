/** llama.cpp (node-llama-cpp, on the exported GGUF of the same weights) against the shared backend suite. */
import { backendSuite } from "../backend.case.js";
import { loadLlamaCppGenerator } from "./backend.js";

backendSuite("llama.cpp", (m, o) => loadLlamaCppGenerator(m.gguf, { ...o, threads: 1 }));
