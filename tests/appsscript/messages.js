// Generates appsscript/Messages.gs, the Apps Script side's message table, from the Fluent files
// locales/<lang>/appsscript.ftl (the same folder as the sidebar's messages: one source for every
// text of Almanac). Apps Script cannot load a library, so its messages are a plain object of
// strings; a message may hold only text and `{ $variable }`, written `{variable}` in the table and
// filled by Code.gs's `message_`. Run `node tests/appsscript/messages.js` after editing a .ftl
// file; the Node tests fail while Messages.gs is not what this script writes.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parse } = require('@fluent/syntax');

const ROOT = path.join(__dirname, '..', '..');
/** The languages, English (the fallback) first. */
const LANGS = ['en', 'ko'];
/** Where the table goes. */
const OUTPUT = path.join(ROOT, 'appsscript', 'Messages.gs');

/** The messages of one language: id → text with `{variable}` placeholders. */
function table(lang) {
  const file = path.join(ROOT, 'locales', lang, 'appsscript.ftl');
  const resource = parse(fs.readFileSync(file, 'utf8'), { withSpans: false });
  const out = {};
  for (const entry of resource.body) {
    if (entry.type === 'Junk') throw new Error(`${file}: does not parse: ${entry.content}`);
    if (entry.type !== 'Message') continue;
    out[entry.id.name] = entry.value.elements
      .map((el) => {
        if (el.type === 'TextElement') return el.value;
        if (el.type === 'Placeable' && el.expression.type === 'VariableReference') {
          return `{${el.expression.id.name}}`;
        }
        throw new Error(`${file}: ${entry.id.name}: Apps Script messages hold only text and { $variables }`);
      })
      .join('');
  }
  return out;
}

/** The text of appsscript/Messages.gs. */
function generate() {
  const messages = Object.fromEntries(LANGS.map((lang) => [lang, table(lang)]));
  return `/**
 * @fileoverview The Apps Script side's messages in every language of Almanac, generated from
 * locales/<lang>/appsscript.ftl by \`node tests/appsscript/messages.js\`: do not edit by hand.
 * Code.gs's \`message_(id, args)\` picks the user's language and fills \`{variable}\`.
 */

/** @type {Object<string, Object<string, string>>} */
var MESSAGES_ = ${JSON.stringify(messages, null, 2)};
`;
}

module.exports = { generate, table, LANGS, OUTPUT };

if (require.main === module) {
  fs.writeFileSync(OUTPUT, generate());
  console.log(`wrote ${path.relative(ROOT, OUTPUT)}`);
}
