#!/usr/bin/env node
// The devstack CLI, run through tsx so the package ships TypeScript sources only.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
