export * from './names.ts';
export * from './resources.ts';
