// Tests of appsscript/Code.gs and appsscript/Sidebar.html under Node's test runner.
//
// Code.gs is run with `vm.runInContext` in a context whose globals are small stubs of the Apps Script
// services it uses (SpreadsheetApp, HtmlService, ScriptApp, PropertiesService, Session), so its
// top-level functions become properties of that context, exactly as they are globals in Apps Script.
// The stubs record every call, so tests can say how many reads happened.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const APPSSCRIPT_DIR = path.join(__dirname, '..', '..', 'appsscript');
const CODE_SOURCE = fs.readFileSync(path.join(APPSSCRIPT_DIR, 'Code.gs'), 'utf8');
const SIDEBAR_SOURCE = fs.readFileSync(path.join(APPSSCRIPT_DIR, 'Sidebar.html'), 'utf8');
// Messages.gs (generated from locales/*/appsscript.ftl) shares Code.gs's global scope in Apps Script.
const MESSAGES_SOURCE = fs.readFileSync(path.join(APPSSCRIPT_DIR, 'Messages.gs'), 'utf8');
const messagesTable = require('./messages.js');

const AuthMode = Object.freeze({ NONE: 'NONE', CUSTOM_FUNCTION: 'CUSTOM_FUNCTION', LIMITED: 'LIMITED', FULL: 'FULL' });

/**
 * A stub sheet: `cells` maps a 1-based row number to its values in A–F; other rows are empty.
 * `selection` is the active range list as [firstRow, numRows] pairs (null: no selection).
 */
function makeSheet({ sheetId = 0, name = 'Events', lastRow, cells = {}, selection = [] }) {
  const reads = [];
  const computedLastRow =
    lastRow !== undefined ? lastRow : Math.max(0, ...Object.keys(cells).map(Number));
  const sheet = {
    reads,
    getSheetId: () => sheetId,
    getName: () => name,
    getLastRow: () => computedLastRow,
    getActiveRangeList: () =>
      selection === null
        ? null
        : {
            getRanges: () =>
              selection.map(([row, numRows]) => ({ getRow: () => row, getNumRows: () => numRows })),
          },
    getRange: (row, column, numRows, numColumns) => {
      return {
        getDisplayValues: () => {
          reads.push({ row, column, numRows, numColumns });
          const values = [];
          for (let r = row; r < row + numRows; r++) {
            const source = cells[r] || [];
            const line = [];
            for (let c = column - 1; c < column - 1 + numColumns; c++) {
              line.push(source[c] === undefined ? '' : source[c]);
            }
            values.push(line);
          }
          return values;
        },
      };
    },
  };
  return sheet;
}

const MANIFEST = JSON.parse(fs.readFileSync(path.join(APPSSCRIPT_DIR, 'appsscript.json'), 'utf8'));

const CURRENTONLY = 'https://www.googleapis.com/auth/spreadsheets.currentonly';
const SPREADSHEETS = 'https://www.googleapis.com/auth/spreadsheets';
const CONTAINER_UI = 'https://www.googleapis.com/auth/script.container.ui';
const USERINFO_EMAIL = 'https://www.googleapis.com/auth/userinfo.email';
const SHEET_SCOPES = [CURRENTONLY, SPREADSHEETS];

/**
 * Every Apps Script method Code.gs calls, with the scopes its reference page lists under
 * "Authorization" (one of them must be granted); `[]` for methods that need none
 * (developers.google.com/apps-script/reference/...). A call to a method missing here fails the test:
 * add the method with the scopes of its reference page.
 */
const REFERENCE_SCOPES = {
  'SpreadsheetApp.getUi': [],
  'SpreadsheetApp.getActiveSpreadsheet': SHEET_SCOPES,
  'Ui.createAddonMenu': [],
  'Ui.createMenu': [],
  'Ui.showSidebar': [CONTAINER_UI],
  'Menu.addItem': [],
  'Menu.addToUi': [],
  'Spreadsheet.getId': SHEET_SCOPES,
  'Spreadsheet.getActiveSheet': SHEET_SCOPES,
  'Spreadsheet.addDeveloperMetadata': SHEET_SCOPES,
  'Spreadsheet.createDeveloperMetadataFinder': SHEET_SCOPES,
  'Spreadsheet.addEditor': SHEET_SCOPES,
  'DeveloperMetadataFinder.withKey': SHEET_SCOPES,
  'DeveloperMetadataFinder.find': SHEET_SCOPES,
  'DeveloperMetadata.getValue': SHEET_SCOPES,
  'DeveloperMetadata.remove': SHEET_SCOPES,
  'Sheet.getSheetId': SHEET_SCOPES,
  'Sheet.getName': SHEET_SCOPES,
  'Sheet.getLastRow': SHEET_SCOPES,
  'Sheet.getActiveRangeList': SHEET_SCOPES,
  'Sheet.getRange': SHEET_SCOPES,
  'RangeList.getRanges': SHEET_SCOPES,
  'Range.getRow': SHEET_SCOPES,
  'Range.getNumRows': SHEET_SCOPES,
  'Range.getDisplayValues': SHEET_SCOPES,
  'HtmlService.createTemplateFromFile': [],
  'HtmlService.createHtmlOutputFromFile': [],
  'HtmlTemplate.evaluate': [],
  'HtmlOutput.setTitle': [],
  'HtmlOutput.setWidth': [],
  'HtmlOutput.getContent': [],
  'ScriptApp.getIdentityToken': ['openid'],
  'PropertiesService.getScriptProperties': [],
  'Properties.getProperty': [],
  'Properties.setProperty': [],
  'Session.getActiveUser': [],
  'Session.getActiveUserLocale': [],
  'User.getEmail': [USERINFO_EMAIL],
};

/** What the sheet stub's methods return, as Apps Script classes (so that those calls are checked too). */
const RETURNS = {
  'Sheet.getActiveRangeList': 'RangeList',
  'Sheet.getRange': 'Range',
  'RangeList.getRanges': 'Range[]',
};

/**
 * `object` as Apps Script's class `className`: each method call is recorded in `calls` and refused,
 * as Apps Script refuses it, unless `scopes` (the manifest's) grant one of the method's reference
 * scopes. Properties that are not functions (enums) pass through.
 */
function scoped(className, object, calls, scopes) {
  return new Proxy(object, {
    get(target, name) {
      const value = target[name];
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      const method = `${className}.${name}`;
      return (...args) => {
        calls.push(method);
        const needed = REFERENCE_SCOPES[method];
        if (needed === undefined) {
          throw new Error(`Code.gs calls ${method}, which REFERENCE_SCOPES does not list: add it with its reference's scopes`);
        }
        if (needed.length > 0 && !needed.some((scope) => scopes.includes(scope))) {
          throw new Error(`${method} needs one of ${needed.join(', ')}; appsscript.json grants none of them`);
        }
        const result = value.apply(target, args);
        const returns = RETURNS[method];
        if (result === null || result === undefined || !returns) return result;
        return returns.endsWith('[]')
          ? result.map((item) => scoped(returns.slice(0, -2), item, calls, scopes))
          : scoped(returns, result, calls, scopes);
      };
    },
  });
}

/**
 * Runs Code.gs in a fresh context with stubbed services. Returns the context (Code.gs's functions are
 * on it) and the records of what the stubs were asked. Every stub checks the scopes of each method
 * called against `scopes` (the manifest's, by default).
 */
function loadCode({
  sheet = makeSheet({}),
  properties = { ALMANAC_BACKEND_URL: 'https://almanac.example.com' },
  identityToken = 'id-token',
  email = 'ada@example.com',
  propertiesThrow = false,
  extraGlobals = {},
  scopes = MANIFEST.oauthScopes,
  canEdit = true,
  metadata = [],
  locale = 'en',
} = {}) {
  const record = { menus: [], sidebars: [], templates: [], htmlOutputs: [], calls: [], metadata, editors: [] };
  const store = new Map(Object.entries(properties));
  const as = (className, object) => scoped(className, object, record.calls, scopes);

  const makeMenu = (kind, title) => {
    const menu = { kind, title, items: [], added: false };
    record.menus.push(menu);
    const builder = as('Menu', {
      addItem(caption, functionName) {
        menu.items.push([caption, functionName]);
        return builder;
      },
      addSeparator() {
        return builder;
      },
      addToUi() {
        menu.added = true;
      },
    });
    return builder;
  };

  const ui = as('Ui', {
    createAddonMenu: () => makeMenu('addon', null),
    createMenu: (title) => makeMenu('menu', title),
    showSidebar: (output) => record.sidebars.push(output),
  });

  const refuseViewer = () => {
    if (!canEdit) throw new Error('Exception: You do not have permission to edit this spreadsheet.');
  };
  const makeMetadata = (entry) =>
    as('DeveloperMetadata', {
      getValue: () => entry.value,
      remove: () => {
        refuseViewer();
        record.metadata.splice(record.metadata.indexOf(entry), 1);
      },
    });
  const spreadsheet = as('Spreadsheet', {
    getId: () => 'spreadsheet-123',
    getActiveSheet: () => as('Sheet', sheet),
    addDeveloperMetadata: (key, value, visibility) => {
      refuseViewer();
      record.metadata.push({ key, value, visibility });
    },
    createDeveloperMetadataFinder: () => {
      let key = null;
      const finder = as('DeveloperMetadataFinder', {
        withKey: (k) => {
          key = k;
          return finder;
        },
        find: () => record.metadata.filter((m) => key === null || m.key === key).map(makeMetadata),
      });
      return finder;
    },
    addEditor: (address) => {
      refuseViewer();
      record.editors.push(address);
    },
  });

  const makeHtmlOutput = (file) => {
    const output = { file, title: null, width: null, content: `<p>${file}</p>` };
    record.htmlOutputs.push(output);
    output.setTitle = (title) => {
      output.title = title;
      return wrapped;
    };
    output.setWidth = (width) => {
      output.width = width;
      return wrapped;
    };
    output.getContent = () => output.content;
    const wrapped = as('HtmlOutput', output);
    return wrapped;
  };

  const services = {
    SpreadsheetApp: as('SpreadsheetApp', {
      getUi: () => ui,
      getActiveSpreadsheet: () => spreadsheet,
      DeveloperMetadataVisibility: Object.freeze({ DOCUMENT: 'DOCUMENT', PROJECT: 'PROJECT' }),
    }),
    HtmlService: as('HtmlService', {
      createTemplateFromFile: (file) => {
        record.templates.push(file);
        return as('HtmlTemplate', { evaluate: () => makeHtmlOutput(file) });
      },
      createHtmlOutputFromFile: (file) => makeHtmlOutput(file),
    }),
    ScriptApp: as('ScriptApp', {
      AuthMode,
      getIdentityToken: () => identityToken,
    }),
    PropertiesService: as('PropertiesService', {
      getScriptProperties: () => {
        if (propertiesThrow) {
          throw new Error('PropertiesService needs authorization');
        }
        return as('Properties', {
          getProperty: (key) => (store.has(key) ? store.get(key) : null),
          setProperty: (key, value) => {
            store.set(key, value);
          },
        });
      },
    }),
    Session: as('Session', {
      getActiveUser: () => as('User', { getEmail: () => email }),
      getActiveUserLocale: () => locale,
    }),
  };

  const context = vm.createContext({ ...services, ...extraGlobals });
  vm.runInContext(MESSAGES_SOURCE, context, { filename: 'Messages.gs' });
  vm.runInContext(CODE_SOURCE, context, { filename: 'Code.gs' });
  return { code: context, record, store, sheet };
}

/** Row values A–F. */
const row = (...values) => values;

// ---------------------------------------------------------------------------------------------------
// Menu and sidebar

test('onOpen adds Generate to the add-on menu and a top-level Almanac menu', () => {
  const { code, record } = loadCode();
  code.onOpen({ authMode: AuthMode.LIMITED });
  assert.deepEqual(
    record.menus.map((m) => ({ kind: m.kind, title: m.title, items: m.items, added: m.added })),
    [
      { kind: 'addon', title: null, items: [['Generate', 'showSidebar']], added: true },
      { kind: 'menu', title: 'Almanac', items: [['Generate', 'showSidebar']], added: true },
    ]
  );
  assert.equal(typeof code.showSidebar, 'function', 'the menu item names a function that exists');
});

test('onOpen in AuthMode.NONE adds only the add-on menu and touches nothing needing authorization', () => {
  const { code, record } = loadCode({ propertiesThrow: true });
  code.onOpen({ authMode: AuthMode.NONE });
  assert.equal(record.menus.length, 1);
  assert.equal(record.menus[0].kind, 'addon');
  assert.deepEqual(record.menus[0].items, [['Generate', 'showSidebar']]);
  assert.equal(record.menus[0].added, true);
});

test('onOpen run from the editor without an event adds both menus', () => {
  const { code, record } = loadCode();
  code.onOpen(undefined);
  assert.deepEqual(
    record.menus.map((m) => m.kind),
    ['addon', 'menu']
  );
});

test('onInstall builds the menu at once', () => {
  const { code, record } = loadCode();
  code.onInstall({ authMode: AuthMode.FULL });
  assert.equal(record.menus.filter((m) => m.added).length, 2);
});

test('showSidebar shows the Sidebar template titled Almanac, 300 px wide', () => {
  const { code, record } = loadCode();
  code.showSidebar();
  assert.deepEqual(record.templates, ['Sidebar']);
  assert.equal(record.sidebars.length, 1);
  assert.equal(record.sidebars[0].title, 'Almanac');
  assert.equal(record.sidebars[0].width, 300);
  assert.equal(record.sidebars[0].file, 'Sidebar');
});

test('include_ returns the content of another HTML file', () => {
  const { code } = loadCode();
  assert.equal(code.include_('Styles'), '<p>Styles</p>');
});

// ---------------------------------------------------------------------------------------------------
// getSelectionContext

test('getSelectionContext on a single range returns exactly the shape the sidebar reads', () => {
  const sheet = makeSheet({
    sheetId: 42,
    name: 'Events',
    cells: {
      1: row('id', 'title', 'year', 'content_simple', 'content_detailed', 'related_movies'),
      2: row('01-27', 'Auschwitz liberated', '', '', '', ''),
      3: row('08-15', 'Liberation Day', '1945', 'Korea was liberated.', '', ''),
      4: row('12-25', 'Christmas', '', '', '', ''),
    },
    selection: [[2, 2]],
  });
  const { code } = loadCode({ sheet, properties: { ALMANAC_BACKEND_URL: 'https://almanac.example.com', ALMANAC_SERVICE_ACCOUNT_EMAIL: ' Almanac@Demo.iam.gserviceaccount.com ' } });
  const context = code.getSelectionContext();
  // Compare as JSON: what crosses google.script.run is JSON, and the context is another realm.
  assert.deepEqual(JSON.parse(JSON.stringify(context)), {
    spreadsheetId: 'spreadsheet-123',
    sheetId: 42,
    sheetTitle: 'Events',
    backendUrl: 'https://almanac.example.com',
    identityToken: 'id-token',
    serviceAccountEmail: 'almanac@demo.iam.gserviceaccount.com',
    userEmail: 'ada@example.com',
    rows: [
      { rowNumber: 2, id: '01-27', title: 'Auschwitz liberated', filled: [false, false, false, false] },
      { rowNumber: 3, id: '08-15', title: 'Liberation Day', filled: [true, true, false, false] },
    ],
    locale: 'en',
  });
  assert.deepEqual(
    Object.keys(context),
    ['spreadsheetId', 'sheetId', 'sheetTitle', 'backendUrl', 'identityToken', 'serviceAccountEmail', 'userEmail', 'rows', 'locale']
  );
  assert.deepEqual(sheet.reads, [{ row: 2, column: 1, numRows: 2, numColumns: 6 }]);
});

test('several overlapping ranges give each row once, sorted', () => {
  const cells = {};
  for (let r = 1; r <= 30; r++) cells[r] = row(`id-${r}`, `title ${r}`, '', '', '', '');
  const sheet = makeSheet({ cells, selection: [[20, 3], [5, 4], [7, 2], [21, 1], [6, 1]] });
  const { code } = loadCode({ sheet });
  const rows = code.getSelectionContext().rows;
  assert.deepEqual(
    Array.from(rows, (r) => r.rowNumber),
    [5, 6, 7, 8, 20, 21, 22]
  );
  assert.deepEqual(
    Array.from(rows, (r) => r.id),
    ['id-5', 'id-6', 'id-7', 'id-8', 'id-20', 'id-21', 'id-22']
  );
});

test('only one getDisplayValues call happens per contiguous block', () => {
  const cells = {};
  for (let r = 1; r <= 40; r++) cells[r] = row(`id-${r}`, `t${r}`, '', '', '', '');
  // 2–4 and 5–6 touch (one block 2–6); 10–12 and 11–15 overlap (one block 10–15); 30 stands alone.
  const sheet = makeSheet({ cells, selection: [[11, 5], [2, 3], [30, 1], [5, 2], [10, 3]] });
  const { code } = loadCode({ sheet });
  const rows = code.getSelectionContext().rows;
  assert.equal(rows.length, 5 + 6 + 1);
  assert.deepEqual(sheet.reads, [
    { row: 2, column: 1, numRows: 5, numColumns: 6 },
    { row: 10, column: 1, numRows: 6, numColumns: 6 },
    { row: 30, column: 1, numRows: 1, numColumns: 6 },
  ]);
});

test('a selection including the header row still returns it (the sidebar decides)', () => {
  const sheet = makeSheet({
    cells: {
      1: row('id', 'title', 'year', 'content_simple', 'content_detailed', 'related_movies'),
      2: row('01-27', 'Auschwitz liberated', '', '', '', ''),
    },
    selection: [[1, 2]],
  });
  const { code } = loadCode({ sheet });
  const rows = JSON.parse(JSON.stringify(code.getSelectionContext().rows));
  assert.deepEqual(rows[0], { rowNumber: 1, id: 'id', title: 'title', filled: [true, true, true, true] });
  assert.equal(rows.length, 2);
});

test('empty rows inside the data are returned with empty id and title', () => {
  const sheet = makeSheet({
    cells: {
      2: row('01-27', 'Auschwitz liberated'),
      4: row('12-25', 'Christmas'),
    },
    selection: [[2, 3]],
  });
  const { code } = loadCode({ sheet });
  const rows = JSON.parse(JSON.stringify(code.getSelectionContext().rows));
  assert.deepEqual(rows[1], { rowNumber: 3, id: '', title: '', filled: [false, false, false, false] });
  assert.deepEqual(
    rows.map((r) => r.rowNumber),
    [2, 3, 4]
  );
});

test('filled flags ignore whitespace, and id and title are trimmed', () => {
  const sheet = makeSheet({
    cells: { 2: row('  01-27 ', '\tAuschwitz liberated \n', '   ', ' 1945 ', '\n', ' x') },
    selection: [[2, 1]],
  });
  const { code } = loadCode({ sheet });
  const [only] = JSON.parse(JSON.stringify(code.getSelectionContext().rows));
  assert.deepEqual(only, {
    rowNumber: 2,
    id: '01-27',
    title: 'Auschwitz liberated',
    filled: [false, true, false, true],
  });
});

test('rows below the last row with content are left out (whole columns selected)', () => {
  const sheet = makeSheet({
    cells: { 1: row('id', 'title'), 2: row('01-27', 'A'), 3: row('08-15', 'B') },
    selection: [[1, 1000]],
  });
  const { code } = loadCode({ sheet });
  assert.equal(code.getSelectionContext().rows.length, 3);
  assert.deepEqual(sheet.reads, [{ row: 1, column: 1, numRows: 3, numColumns: 6 }]);
});

test('an empty sheet or no selection gives no rows and no reads', () => {
  const empty = makeSheet({ lastRow: 0, selection: [[1, 5]] });
  assert.equal(loadCode({ sheet: empty }).code.getSelectionContext().rows.length, 0);
  assert.equal(empty.reads.length, 0);
  const none = makeSheet({ cells: { 2: row('a', 'b') }, selection: null });
  assert.equal(loadCode({ sheet: none }).code.getSelectionContext().rows.length, 0);
  assert.equal(none.reads.length, 0);
});

test('a selection of more than 50,000 rows is refused before anything is read', () => {
  const sheet = makeSheet({ lastRow: 60000, selection: [[2, 30000], [30002, 20001]] });
  const { code } = loadCode({ sheet });
  assert.throws(
    () => code.getSelectionContext(),
    (error) => {
      assert.match(error.message, /50001 rows/);
      assert.match(error.message, /at most 50000 rows/);
      return true;
    }
  );
  assert.equal(sheet.reads.length, 0);
});

test('a selection of exactly 50,000 rows is read in one call', () => {
  const sheet = makeSheet({ lastRow: 60000, selection: [[2, 50000]] });
  const { code } = loadCode({ sheet });
  assert.equal(code.getSelectionContext().rows.length, 50000);
  assert.equal(sheet.reads.length, 1);
});

test('the user email is empty, not missing, when Google does not disclose it', () => {
  const sheet = makeSheet({ cells: { 2: row('a', 'b') }, selection: [[2, 1]] });
  const { code } = loadCode({ sheet, email: '' });
  assert.equal(code.getSelectionContext().userEmail, '');
});

test('getSelectionContext fails clearly without an identity token', () => {
  const sheet = makeSheet({ cells: { 2: row('a', 'b') }, selection: [[2, 1]] });
  const { code } = loadCode({ sheet, identityToken: null });
  assert.throws(() => code.getSelectionContext(), /identity token.*openid/s);
});

test('getSelectionContext fails with the setup message when the backend URL is unset', () => {
  const sheet = makeSheet({ cells: { 2: row('a', 'b') }, selection: [[2, 1]] });
  const { code } = loadCode({ sheet, properties: {} });
  assert.throws(() => code.getSelectionContext(), /ALMANAC_BACKEND_URL is not set/);
  assert.equal(sheet.reads.length, 0);
});

// ---------------------------------------------------------------------------------------------------
// Backend URL

test('getBackendUrl refuses an unset or blank property with a message saying what to set', () => {
  for (const properties of [{}, { ALMANAC_BACKEND_URL: '' }, { ALMANAC_BACKEND_URL: '   ' }]) {
    const { code } = loadCode({ properties });
    assert.throws(() => code.getBackendUrl(), /Script Property ALMANAC_BACKEND_URL is not set/);
  }
});

test('getBackendUrl refuses http:// except for 127.0.0.1 and localhost', () => {
  for (const url of [
    'http://almanac.example.com',
    'http://localhost.example.com',
    'http://127.0.0.1.example.com',
    'ftp://almanac.example.com',
    'javascript://alert(1)',
  ]) {
    const { code } = loadCode({ properties: { ALMANAC_BACKEND_URL: url } });
    assert.throws(() => code.getBackendUrl(), /must start with https:\/\//, url);
  }
});

test('getBackendUrl refuses what is not a plain base URL', () => {
  for (const url of [
    'almanac.example.com',
    'https://',
    'https://user:secret@almanac.example.com',
    'https://almanac.example.com/?x=1',
    'https://almanac.example.com/#top',
    'https://almanac example.com',
    'https://almanac.example.com/"};alert(1)//',
  ]) {
    const { code } = loadCode({ properties: { ALMANAC_BACKEND_URL: url } });
    assert.throws(() => code.getBackendUrl(), /ALMANAC_BACKEND_URL must/, url);
  }
});

test('getBackendUrl accepts https and local http, trimmed and without a trailing slash', () => {
  const cases = [
    ['https://almanac.example.com', 'https://almanac.example.com'],
    ['  https://almanac.example.com/ ', 'https://almanac.example.com'],
    ['https://example.com:8443/almanac/', 'https://example.com:8443/almanac'],
    ['HTTPS://Almanac.Example.com', 'HTTPS://Almanac.Example.com'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://localhost:8080/', 'http://localhost:8080'],
  ];
  for (const [stored, expected] of cases) {
    const { code } = loadCode({ properties: { ALMANAC_BACKEND_URL: stored } });
    assert.equal(code.getBackendUrl(), expected, stored);
  }
});

test('setBackendUrl_ stores a valid URL normalized and refuses an invalid one', () => {
  const { code, store } = loadCode({ properties: {} });
  assert.equal(code.setBackendUrl_('https://almanac.example.com/'), 'https://almanac.example.com');
  assert.equal(store.get('ALMANAC_BACKEND_URL'), 'https://almanac.example.com');
  assert.throws(() => code.setBackendUrl_('http://evil.example.com'), /https/);
  assert.equal(store.get('ALMANAC_BACKEND_URL'), 'https://almanac.example.com');
});

test('the setter is private: google.script.run cannot call a name ending in _', () => {
  const { code } = loadCode();
  assert.equal(code.setBackendUrl, undefined);
  assert.equal(typeof code.setBackendUrl_, 'function');
});

// ---------------------------------------------------------------------------------------------------
// Pure helpers

test('mergeRowBlocks_ sorts, merges overlapping and touching ranges, and drops empty ones', () => {
  const { code } = loadCode();
  const merged = code.mergeRowBlocks_([
    { firstRow: 10, numRows: 2 },
    { firstRow: 1, numRows: 3 },
    { firstRow: 4, numRows: 1 },
    { firstRow: 12, numRows: 0 },
    { firstRow: 2, numRows: 1 },
    { firstRow: 20, numRows: 5 },
    { firstRow: 21, numRows: 2 },
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(merged)), [
    { firstRow: 1, numRows: 4 },
    { firstRow: 10, numRows: 2 },
    { firstRow: 20, numRows: 5 },
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(code.mergeRowBlocks_([]))), []);
});

test('rowsFromValues_ numbers rows from the first and treats missing cells as empty', () => {
  const { code } = loadCode();
  const rows = code.rowsFromValues_(7, [['a', 'b'], [null, undefined, 'x', '', ' ', 0]]);
  assert.deepEqual(JSON.parse(JSON.stringify(rows)), [
    { rowNumber: 7, id: 'a', title: 'b', filled: [false, false, false, false] },
    { rowNumber: 8, id: '', title: '', filled: [true, false, false, true] },
  ]);
});

test('Code.gs exports its functions for Node when module exists', () => {
  const sandbox = { module: { exports: {} } };
  const context = vm.createContext(sandbox);
  vm.runInContext(MESSAGES_SOURCE, context, { filename: 'Messages.gs' });
  vm.runInContext(CODE_SOURCE, context, { filename: 'Code.gs' });
  for (const name of ['onOpen', 'onInstall', 'showSidebar', 'getSelectionContext', 'getBackendUrl', 'mergeRowBlocks_', 'rowsFromValues_']) {
    assert.equal(typeof sandbox.module.exports[name], 'function', name);
  }
  assert.equal(sandbox.module.exports.MAX_SELECTED_ROWS_, 50000);
});

// ---------------------------------------------------------------------------------------------------
// Access proof and sharing

const NONCE = `ap1.${Math.floor(Date.now() / 1000) + 600}.${'a'.repeat(32)}.${'M'.repeat(43)}`;
const OLD_NONCE = `ap1.${Math.floor(Date.now() / 1000) - 60}.${'b'.repeat(32)}.${'M'.repeat(43)}`;

test('writeAccessProof adds the nonce as DOCUMENT developer metadata and removes expired ones', () => {
  const metadata = [
    { key: 'almanac-access-proof', value: OLD_NONCE, visibility: 'DOCUMENT' },
    { key: 'almanac-access-proof', value: NONCE.replace('a'.repeat(32), 'c'.repeat(32)), visibility: 'DOCUMENT' },
    { key: 'someone-else', value: 'x', visibility: 'DOCUMENT' },
  ];
  const { code, record } = loadCode({ metadata });
  code.writeAccessProof('almanac-access-proof', NONCE);
  assert.deepEqual(
    record.metadata.map((m) => [m.key, m.value === OLD_NONCE ? 'old' : m.value === NONCE ? 'new' : 'kept']),
    [['almanac-access-proof', 'kept'], ['someone-else', 'kept'], ['almanac-access-proof', 'new']]
  );
  assert.equal(record.metadata[2].visibility, 'DOCUMENT');
});

test('writeAccessProof writes nothing but a well-formed nonce of the backend under its key', () => {
  const { code, record } = loadCode();
  for (const [key, nonce] of [
    ['almanac-access-proof', 'hello'],
    ['other-key', NONCE],
    ['almanac-access-proof', `${NONCE}<script>`],
  ]) {
    assert.throws(() => code.writeAccessProof(key, nonce), /not an access check/);
  }
  assert.equal(record.metadata.length, 0);
});

test('writeAccessProof fails for a viewer, as Apps Script does', () => {
  const { code, record } = loadCode({ canEdit: false });
  assert.throws(() => code.writeAccessProof('almanac-access-proof', NONCE), /permission to edit/);
  assert.equal(record.metadata.length, 0);
});

test('shareWithServiceAccount shares with the configured service account only', () => {
  const configured = { ALMANAC_SERVICE_ACCOUNT_EMAIL: 'almanac@p.iam.gserviceaccount.com' };
  const { code, record } = loadCode({ properties: configured });
  assert.equal(code.shareWithServiceAccount('attacker@evil.example.com'), 'almanac@p.iam.gserviceaccount.com');
  assert.deepEqual(record.editors, ['almanac@p.iam.gserviceaccount.com'], 'the argument is ignored');
  for (const value of [undefined, 'someone@example.com', '']) {
    const properties = value === undefined ? {} : { ALMANAC_SERVICE_ACCOUNT_EMAIL: value };
    const { code: other, record: none } = loadCode({ properties });
    assert.throws(() => other.shareWithServiceAccount(), /ALMANAC_SERVICE_ACCOUNT_EMAIL is not set/);
    assert.deepEqual(none.editors, []);
  }
});

test('isStaleProof_ tells expired or foreign values from live nonces', () => {
  const { code } = loadCode();
  assert.equal(code.isStaleProof_(NONCE, Date.now()), false);
  assert.equal(code.isStaleProof_(OLD_NONCE, Date.now()), true);
  assert.equal(code.isStaleProof_('garbage', Date.now()), true);
  assert.equal(code.isStaleProof_(null, Date.now()), true);
});

// ---------------------------------------------------------------------------------------------------
// Scopes: every service method Code.gs calls against the manifest

test('every Apps Script method Code.gs calls is allowed by the manifest\'s scopes', () => {
  const sheet = makeSheet({ cells: { 2: row('a', 'b') }, selection: [[2, 1]] });
  const properties = {
    ALMANAC_BACKEND_URL: 'https://almanac.example.com',
    ALMANAC_SERVICE_ACCOUNT_EMAIL: 'almanac@p.iam.gserviceaccount.com',
  };
  const { code, record } = loadCode({
    sheet,
    properties,
    metadata: [{ key: 'almanac-access-proof', value: OLD_NONCE }],
  });
  code.onOpen({ authMode: AuthMode.FULL });
  code.showSidebar();
  code.include_('Styles');
  code.getSelectionContext();
  code.writeAccessProof('almanac-access-proof', NONCE);
  code.shareWithServiceAccount();
  code.setBackendUrl_('https://almanac.example.com');
  const called = new Set(record.calls);
  // Every entry of the table is exercised, so the table holds nothing Code.gs does not call.
  assert.deepEqual(Object.keys(REFERENCE_SCOPES).filter((m) => !called.has(m)), []);
  for (const method of ['Spreadsheet.addDeveloperMetadata', 'Spreadsheet.addEditor', 'DeveloperMetadata.remove', 'Ui.showSidebar', 'User.getEmail', 'ScriptApp.getIdentityToken']) {
    assert.ok(called.has(method), method);
  }
  // No REST call: the script never fetches a URL or reads an OAuth token to send elsewhere.
  assert.equal(called.has('ScriptApp.getOAuthToken'), false);
  assert.equal([...called].some((m) => m.startsWith('UrlFetchApp.')), false);
});

test('without spreadsheets.currentonly the sheet cannot be read, as Apps Script would refuse', () => {
  const sheet = makeSheet({ cells: { 2: row('a', 'b') }, selection: [[2, 1]] });
  const scopes = MANIFEST.oauthScopes.filter((s) => s !== CURRENTONLY);
  const { code } = loadCode({ sheet, scopes });
  assert.throws(() => code.getSelectionContext(), /SpreadsheetApp.getActiveSpreadsheet needs one of/);
  assert.throws(() => code.writeAccessProof('almanac-access-proof', NONCE), /needs one of/);
  const noUi = loadCode({ scopes: MANIFEST.oauthScopes.filter((s) => s !== CONTAINER_UI) });
  assert.throws(() => noUi.code.showSidebar(), /Ui.showSidebar needs one of/);
});

// ---------------------------------------------------------------------------------------------------
// Manifest

test('appsscript.json: V8, Stackdriver logging, exactly the four scopes, no addOns section', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(APPSSCRIPT_DIR, 'appsscript.json'), 'utf8'));
  assert.equal(manifest.runtimeVersion, 'V8');
  assert.equal(manifest.exceptionLogging, 'STACKDRIVER');
  assert.equal(typeof manifest.timeZone, 'string');
  assert.deepEqual(manifest.oauthScopes, [
    'https://www.googleapis.com/auth/spreadsheets.currentonly',
    'https://www.googleapis.com/auth/script.container.ui',
    'openid',
    'https://www.googleapis.com/auth/userinfo.email',
  ]);
  assert.equal('addOns' in manifest, false);
});

/** The rows of the Markdown table that follows `heading` in README.md, as arrays of cell texts. */
function readmeTable(heading) {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf(heading);
  assert.ok(start >= 0, `README.md has ${heading}`);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

test("README's scope table lists exactly the manifest's scopes, and its Google calls use only them", () => {
  const scopes = readmeTable('**Why these OAuth scopes**').map(([scope]) => scope.replace(/`/g, ''));
  assert.deepEqual([...scopes].sort(), [...MANIFEST.oauthScopes].sort());
  const calls = readmeTable('**Every Google call, with its scope**');
  const byScript = calls.filter(([, who]) => who.startsWith('Apps Script'));
  assert.ok(byScript.length >= 5, `${byScript.length} Apps Script rows`);
  for (const [call, who] of byScript) {
    const scope = who.replace(/^Apps Script,\s*/, '').replace(/`/g, '').trim();
    const granted = MANIFEST.oauthScopes.some((s) => s === scope || s.endsWith(`/auth/${scope}`));
    assert.ok(granted, `${call}: ${scope} is not in appsscript.json`);
  }
  // The backend's calls name no scope of the add-on: the Sheets REST API never takes currentonly.
  for (const [call, who] of calls.filter(([, w]) => w.startsWith('backend'))) {
    assert.equal(who.includes('currentonly'), false, call);
  }
});

// ---------------------------------------------------------------------------------------------------
// Sidebar.html, run against a tiny fake DOM and google.script.run

/** Runs the inline script of Sidebar.html; `outcome` is 'success' or 'failure' of getBackendUrl. */
function runSidebar(outcome, value, lang = 'en') {
  const match = /<script>([\s\S]*?)<\/script>/.exec(SIDEBAR_SOURCE);
  assert.ok(match, 'Sidebar.html has an inline bootstrap script');
  const makeElement = (tag) => ({
    tag,
    attributes: {},
    children: [],
    textContent: '',
    type: '',
    removed: false,
    setAttribute(name, v) {
      this.attributes[name] = v;
    },
    getAttribute(name) {
      return name in this.attributes ? this.attributes[name] : null;
    },
    appendChild(child) {
      this.children.push(child);
    },
    remove() {
      this.removed = true;
    },
  });
  const boot = makeElement('div');
  // What the template's `data-messages="<?= messages ?>"` holds once evaluated (bootMessages_).
  const { code } = loadCode({ locale: lang });
  boot.setAttribute('data-messages', code.bootMessages_());
  const body = makeElement('body');
  const calls = [];
  const runner = {
    withSuccessHandler(handler) {
      this.success = handler;
      return this;
    },
    withFailureHandler(handler) {
      this.failure = handler;
      return this;
    },
    getBackendUrl() {
      calls.push('getBackendUrl');
      if (outcome === 'success') this.success(value);
      else this.failure(value);
    },
  };
  const window = {};
  const context = vm.createContext({
    window,
    document: {
      getElementById: (id) => (id === 'almanac-boot' ? boot : null),
      createElement: makeElement,
      body,
    },
    google: { script: { run: runner } },
    setTimeout: () => 0,
    console,
  });
  vm.runInContext(match[1], context);
  return { boot, body, calls, window };
}

test('Sidebar.html asks for the backend URL and injects a module that loads the bundle from it', () => {
  const { boot, body, calls, window } = runSidebar('success', 'https://almanac.example.com');
  assert.deepEqual(calls, ['getBackendUrl']);
  assert.equal(body.children.length, 1);
  const script = body.children[0];
  assert.equal(script.tag, 'script');
  assert.equal(script.type, 'module');
  assert.match(script.textContent, /const jsUrl = "https:\/\/almanac\.example\.com\/sidebar\/almanac_sidebar\.js";/);
  assert.match(
    script.textContent,
    /const wasmUrl = "https:\/\/almanac\.example\.com\/sidebar\/almanac_sidebar_bg\.wasm";/
  );
  assert.match(script.textContent, /await import\(jsUrl\)/);
  assert.match(script.textContent, /app\.default\(\{ module_or_path: wasmUrl \}\)/);
  // The module's text is valid JavaScript (a module: top-level await).
  assert.doesNotThrow(() => new vm.Script(`(async () => {\n${script.textContent}\n})`), 'module parses');
  // Loading message stays until the app has started; the module then calls ready().
  assert.equal(boot.removed, false);
  window.almanacBoot.ready();
  assert.equal(boot.removed, true);
});

test('Sidebar.html shows a clear error when the bundle cannot be loaded', () => {
  const { boot, window } = runSidebar('success', 'https://almanac.example.com');
  window.almanacBoot.fail('Almanac could not load.', window.almanacBoot.unreachable);
  assert.equal(boot.attributes['data-state'], 'error');
  assert.equal(boot.attributes.role, 'alert');
  const text = boot.children.map((c) => c.textContent).join(' ');
  assert.match(text, /could not reach its server at https:\/\/almanac\.example\.com/);
});

test('Sidebar.html shows the setup message when getBackendUrl fails', () => {
  const { boot, body } = runSidebar('failure', new Error('Almanac is not set up: the Script Property ALMANAC_BACKEND_URL is not set.'));
  assert.equal(body.children.length, 0, 'nothing is loaded');
  assert.equal(boot.attributes['data-state'], 'error');
  const text = boot.children.map((c) => c.textContent).join(' ');
  assert.match(text, /ALMANAC_BACKEND_URL is not set/);
});

// ---------------------------------------------------------------------------------------------------
// Languages: the user's locale picks the messages of the menu, the errors and the boot page

test('Messages.gs is what tests/appsscript/messages.js generates from locales/*/appsscript.ftl', () => {
  assert.equal(
    MESSAGES_SOURCE,
    messagesTable.generate(),
    'run `node tests/appsscript/messages.js` after editing a .ftl file'
  );
});

test('every Apps Script message exists in English and in Korean', () => {
  const en = Object.keys(messagesTable.table('en')).sort();
  const ko = Object.keys(messagesTable.table('ko')).sort();
  assert.deepEqual(ko, en);
  assert.ok(en.includes('menu-generate'));
});

test('a Korean account gets the menu, the errors and the boot messages in Korean, with its locale', () => {
  const sheet = makeSheet({ cells: { 2: row('a', 'b') }, selection: [[2, 1]] });
  const { code, record } = loadCode({ locale: 'ko', sheet });
  code.onOpen({ authMode: AuthMode.FULL });
  assert.deepEqual(record.menus.map((m) => m.items), [[['생성', 'showSidebar']], [['생성', 'showSidebar']]]);
  assert.equal(code.getSelectionContext().locale, 'ko');
  assert.throws(() => code.checkSelectionSize_(50001, 50000), /선택 영역이 50001행입니다/);
  assert.throws(() => code.normalizeBackendUrl_(''), /Almanac이 설정되지 않았습니다: 스크립트 속성 ALMANAC_BACKEND_URL/);
  assert.equal(JSON.parse(code.bootMessages_())['boot-loading'], 'Almanac을 불러오는 중…');
  const { boot, window } = runSidebar('success', 'https://almanac.example.com', 'ko');
  window.almanacBoot.fail('x', window.almanacBoot.unreachable);
  assert.match(boot.children.map((c) => c.textContent).join(' '), /서버\(https:\/\/almanac\.example\.com\)에 연결하지 못했습니다/);
});

test('another language falls back to English, and the locale is passed on as Apps Script says it', () => {
  const sheet = makeSheet({ cells: { 2: row('a', 'b') }, selection: [[2, 1]] });
  const { code, record } = loadCode({ locale: 'pt_BR', sheet });
  code.onOpen({ authMode: AuthMode.FULL });
  assert.equal(record.menus[0].items[0][0], 'Generate');
  assert.equal(code.getSelectionContext().locale, 'pt_BR');
  assert.equal(code.langOf_('ko_KR'), 'ko');
  assert.equal(code.langOf_('KO'), 'ko');
  assert.equal(code.langOf_(''), 'en');
  assert.equal(code.formatMessage_('ko', 'no-such-message'), 'no-such-message');
  assert.equal(code.formatMessage_('en', 'error-too-many-rows', { count: 3, max: 2 }).startsWith('The selection has 3 rows'), true);
});
