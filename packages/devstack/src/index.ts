export { type DevstackConfig, loadConfig, type Profile, repoRoot } from './config.ts';
export { type Endpoints, endpointVariables, toShell } from './endpoints.ts';
export { runCommand } from './processes.ts';
export { createProgress, formatSeconds, type Progress, silentProgress } from './progress.ts';
export {
  type ComponentName,
  type ComponentSelection,
  down,
  runningEndpoints,
  status,
  type UpResult,
  up,
} from './stack.ts';
