// The engine's version, recorded in every RunResult so a result can be traced to the code that
// produced it. Kept equal to package.json's version (a test checks it).
export const ENGINE_VERSION = '0.1.0';
