export { loadOperatorConfig, type OperatorConfig } from './config.ts';
export { applyDefaultPlans, applyManifests, installCrds } from './crds.ts';
export { loadKubeConfig, type RunningOperator, startOperator } from './operator.ts';
