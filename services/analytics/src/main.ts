import { runTenantServiceProgram } from '@tenantry/service-runtime';
import { program } from './program.ts';

await runTenantServiceProgram(program);
