export {
  type FakeModel,
  findModel,
  inputLimit,
  MODEL_CATALOGUE,
  modelsOf,
  VENDORS,
  type Vendor,
} from './catalogue.ts';
export { type Directives, FAULTS, type FaultName, parseDirectives, stripDirectives } from './directives.ts';
export { DEFAULT_REPLY_TOKENS, fakeReply } from './generation.ts';
export {
  DEFAULT_TOKENS_PER_SECOND,
  type ProviderFakes,
  type ProviderFakesOptions,
  startProviderFakes,
} from './server.ts';
export type { FakeStats } from './state.ts';
export { countTokens } from './tokens.ts';
