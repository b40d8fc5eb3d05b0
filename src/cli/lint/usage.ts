/** The one-line words of `deputy lint` that every `deputy` start needs (the rule list is in help.ts). */
import { POD_SPEC_PATHS } from './kinds.js';

export const LINT_DESCRIPTION = 'Check Kubernetes manifests for termination timing and wiring mistakes, each with its fix.';
export const LINT_ARGUMENT = `YAML files or directories (every *.yaml and *.yml below them); - reads stdin. Reads ${Object.keys(POD_SPEC_PATHS).join(', ')} and List`;
