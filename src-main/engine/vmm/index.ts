// The hypervisor layer's front door: registers every technique (one folder each under
// techniques/) and re-exports the registry. Import techniques from here, never from their
// folders, so the list is complete wherever it is used.

import { registerTechnique } from './registry';
import { binaryTranslationTechnique } from './techniques/binary-translation';
import {
  hardwareAssistedNptTechnique,
  hardwareAssistedTechnique,
} from './techniques/hardware-assisted';
import { interpreterTechnique } from './techniques/interpreter';
import { nativeTechnique } from './techniques/native';
import { paravirtTechnique } from './techniques/paravirt';
import { trapAndEmulateTechnique } from './techniques/trap-and-emulate';

registerTechnique(nativeTechnique);
registerTechnique(trapAndEmulateTechnique);
registerTechnique(paravirtTechnique);
registerTechnique(binaryTranslationTechnique);
registerTechnique(hardwareAssistedTechnique);
registerTechnique(hardwareAssistedNptTechnique);
registerTechnique(interpreterTechnique);

export { findTechnique, listTechniques, requireTechnique } from './registry';
export type { Technique, TechniqueContext, TechniqueInfo, TechniqueSession } from './technique';
