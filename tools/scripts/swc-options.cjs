// SWC options shared by the build (tools/scripts/build.mjs) and Jest (@swc/jest):
// legacy decorators with metadata (NestJS, TypeORM, class-validator) and the tsconfig path aliases.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));

function swcOptions({ sourceMaps = true } = {}) {
  return {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
      keepClassNames: true,
      baseUrl: root,
      paths: tsconfig.compilerOptions.paths,
    },
    module: { type: 'commonjs' },
    sourceMaps,
  };
}

module.exports = { root, swcOptions, paths: tsconfig.compilerOptions.paths };
