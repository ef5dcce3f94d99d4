import { Type } from '@sinclair/typebox';
import { type Env, loadConfig } from '@tenantry/config';
import { tenantServiceEnv } from '@tenantry/service-runtime';

/** The users service's configuration: the only reader of the environment in this program. */
const schema = Type.Object({ ...tenantServiceEnv(3005) });

export type UsersConfig = ReturnType<typeof loadUsersConfig>;

/** Throws one ConfigError listing every invalid or missing variable. */
export function loadUsersConfig(env: Env = process.env) {
  return loadConfig(schema, env);
}
