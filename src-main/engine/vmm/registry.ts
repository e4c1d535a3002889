// The technique registry: the one list of virtualization techniques. Techniques register
// themselves (techniques/index.ts imports each); everyone else — the runner, the CLI, the
// service, the UI — lists and finds them here, never by name in their own code.

import { type Technique, type TechniqueInfo } from './technique';

const registry = new Map<string, Technique>();

export function registerTechnique(technique: Technique): void {
  if (!/^[a-z][a-z0-9-]*$/.test(technique.id)) {
    throw new Error(`technique id '${technique.id}' must be lowercase words joined by '-'`);
  }
  if (registry.has(technique.id)) {
    throw new Error(`technique '${technique.id}' is registered twice`);
  }
  registry.set(technique.id, technique);
}

/** Every registered technique, in registration order (native first). */
export function listTechniques(): readonly TechniqueInfo[] {
  return [...registry.values()].map(
    ({ id, name, summary, reference, kernelBuild }): TechniqueInfo => ({
      id,
      name,
      summary,
      reference,
      kernelBuild,
    }),
  );
}

export function findTechnique(id: string): Technique | undefined {
  return registry.get(id);
}

/** The technique with this id, or an Error that lists the ones there are. */
export function requireTechnique(id: string): Technique {
  const t = registry.get(id);
  if (!t) {
    throw new Error(`unknown technique '${id}' (available: ${[...registry.keys()].join(', ')})`);
  }
  return t;
}
