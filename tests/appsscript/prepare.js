// Copies appsscript/Code.gs and Messages.gs (its generated message table, sharing its global scope)
// to .build/*.js before the type-check: tsc only reads files whose
// names end in .js/.ts (a `.gs` file named in "include" is silently skipped), and a symlink would not
// survive every checkout. `.build/` is ignored by git; this runs from `npm run typecheck` (pre-script).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const outDir = path.join(__dirname, '.build');
fs.mkdirSync(outDir, { recursive: true });
for (const name of ['Code', 'Messages']) {
  const source = path.join(__dirname, '..', '..', 'appsscript', `${name}.gs`);
  fs.copyFileSync(source, path.join(outDir, `${name}.js`));
}
