export { applyDefaultPlans, applyManifests, installCrds } from './apply-manifests.ts';
export { loadOperatorConfig, type OperatorConfig } from './config.ts';
export { loadKubeConfig, type RunningOperator, startOperator } from './operator.ts';
