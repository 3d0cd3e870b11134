/**
 * @fileoverview Almanac, the Apps Script side: the sheet menu, the sidebar, and what the sidebar is told
 * about the selection.
 *
 * Everything that talks to Apps Script services is a thin public function (`onOpen`, `showSidebar`,
 * `getSelectionContext`, `getBackendUrl`, …); every decision is in a small pure helper whose name ends
 * with `_` (private in Apps Script: not callable through `google.script.run`, not in the editor's Run
 * list) and is tested under Node by `tests/appsscript/code.test.js`.
 *
 * The Rust sidebar deserializes the object returned by `getSelectionContext()`; its shape is
 * `SelectionContext` below and must not change without changing the sidebar.
 *
 * Every text a person reads is in the user's language (`Session.getActiveUserLocale()`, which needs
 * no scope; English for any language Almanac does not speak), from the table `MESSAGES_` that
 * `Messages.gs` holds, generated from `locales/<lang>/appsscript.ftl` (see `message_`).
 */

/** Script Property holding the backend's base URL, e.g. `https://almanac.example.com`. */
var BACKEND_URL_PROPERTY_ = 'ALMANAC_BACKEND_URL';

/**
 * Script Property holding the backend's service-account email, e.g.
 * `almanac@my-project.iam.gserviceaccount.com` (optional): when set, the sidebar offers to share the
 * spreadsheet with it (`shareWithServiceAccount`); the address is never taken from the sidebar.
 */
var SERVICE_ACCOUNT_PROPERTY_ = 'ALMANAC_SERVICE_ACCOUNT_EMAIL';

/** The developer-metadata key of access proofs (`ACCESS_PROOF_METADATA_KEY` of the backend). */
var ACCESS_PROOF_KEY_ = 'almanac-access-proof';

/** Title of the sidebar, and of the top-level menu. */
var SIDEBAR_TITLE_ = 'Almanac';

/** Width of the sidebar in pixels (Sheets shows sidebars 300 px wide). */
var SIDEBAR_WIDTH_ = 300;

/** The most rows one selection may hold: the OpenAI Batch API's limit of requests in one batch. */
var MAX_SELECTED_ROWS_ = 50000;

/** Columns read for each selected row: A `id`, B `title`, C `year`, D `content_simple`,
 * E `content_detailed`, F `related_movies`. */
var COLUMNS_READ_ = 6;

/**
 * Whether `onOpen` also adds a top-level **Almanac** menu beside the add-on menu. Google's documented
 * approach for a *published* Editor add-on is the add-on menu alone (Extensions ▸ Almanac); a script
 * bound to one spreadsheet may also create top-level menus. Set this to `false` before publishing
 * Almanac as an add-on on the Marketplace.
 */
var ADD_TOP_LEVEL_MENU_ = true;

/**
 * @typedef {Object} RowBlock
 * @property {number} firstRow 1-based number of the first row of the block.
 * @property {number} numRows how many rows the block has (at least 1 once merged).
 */

/**
 * @typedef {Object} SelectedRow
 * @property {number} rowNumber 1-based row number in the sheet.
 * @property {string} id column A, trimmed.
 * @property {string} title column B, trimmed.
 * @property {boolean[]} filled four flags, for C `year`, D `content_simple`, E `content_detailed`,
 *   F `related_movies`: whether the cell is non-empty after trimming.
 */

/**
 * What the sidebar is told when it asks `google.script.run.getSelectionContext()`.
 * @typedef {Object} SelectionContext
 * @property {string} spreadsheetId the spreadsheet's id (as in its URL).
 * @property {number} sheetId the active sheet's gid (stable when the sheet is renamed).
 * @property {string} sheetTitle the active sheet's name, for display.
 * @property {string} backendUrl the backend's base URL, without a trailing slash.
 * @property {string} identityToken `ScriptApp.getIdentityToken()`: a Google-signed OpenID Connect token
 *   that tells the backend who the user is.
 * @property {string} serviceAccountEmail the Script Property `ALMANAC_SERVICE_ACCOUNT_EMAIL` ('' when
 *   unset or not a service account): the sidebar offers a Share button only for this address.
 * @property {string} userEmail the user's email address ('' when Google does not disclose it).
 * @property {SelectedRow[]} rows the selected rows, sorted by row number, each once.
 * @property {string} locale `Session.getActiveUserLocale()` (`ko`, `en`, `pt_BR`…; '' when unknown):
 *   the sidebar's language.
 */

/**
 * Adds the **Generate** item to the sheet's menus when the spreadsheet opens.
 *
 * The approach is the one Google documents for Editor add-ons: `createAddonMenu()` always, which shows
 * under Extensions ▸ Almanac (named after the add-on, or the script project when bound), in every
 * authorization mode, because a menu item needs no authorization until it is clicked. In
 * `AuthMode.NONE` (an add-on installed but not yet used in this document) nothing else is done, since
 * nothing that needs authorization may run then. Otherwise (LIMITED for a bound script's simple trigger
 * or an enabled add-on, FULL) a top-level **Almanac ▸ Generate** menu is added too, which is allowed for
 * scripts bound to the spreadsheet; see `ADD_TOP_LEVEL_MENU_` for a published add-on.
 *
 * @param {GoogleAppsScript.Events.SheetsOnOpen | {authMode?: GoogleAppsScript.Script.AuthMode} | undefined} e
 *   the open (or install) event; may be missing when run from the editor.
 * @returns {void}
 */
function onOpen(e) {
  var ui = SpreadsheetApp.getUi();
  var generate = message_('menu-generate');
  ui.createAddonMenu().addItem(generate, 'showSidebar').addToUi();
  if (shouldAddTopLevelMenu_(e && e.authMode, ScriptApp.AuthMode.NONE, ADD_TOP_LEVEL_MENU_)) {
    ui.createMenu(SIDEBAR_TITLE_).addItem(generate, 'showSidebar').addToUi();
  }
}

/**
 * Runs when the add-on is installed from the Marketplace: builds the menu at once, so the person does
 * not have to reload the spreadsheet.
 *
 * @param {GoogleAppsScript.Events.AddonOnInstall | {authMode?: GoogleAppsScript.Script.AuthMode} | undefined} e
 *   the install event.
 * @returns {void}
 */
function onInstall(e) {
  onOpen(e);
}

/**
 * Opens the Almanac sidebar (menu item **Generate**). `Sidebar.html` is a small page that loads the
 * Leptos/WASM sidebar from the backend.
 *
 * @returns {void}
 * @throws {Error} when called where there is no spreadsheet UI (e.g. from the script editor).
 */
function showSidebar() {
  var template = HtmlService.createTemplateFromFile('Sidebar');
  template.lang = userLang_();
  template.messages = bootMessages_();
  var html = template
    .evaluate()
    .setTitle(SIDEBAR_TITLE_)
    .setWidth(SIDEBAR_WIDTH_);
  SpreadsheetApp.getUi().showSidebar(html);
}

/**
 * Returns the content of another HTML file of this project, for `<?!= include_('Name') ?>` in templates.
 *
 * @param {string} filename file name without `.html`.
 * @returns {string} the file's content, unevaluated.
 */
function include_(filename) {
  return HtmlService.createHtmlOutputFromFile(filename).getContent();
}

/**
 * Tells the sidebar where it is: the spreadsheet, the active sheet, the selected rows, who the user is,
 * and where the backend is. Called by the sidebar through `google.script.run.getSelectionContext()`.
 *
 * Every range of the active selection counts (Ctrl/Cmd-click selections too); rows selected twice are
 * returned once, sorted. Rows below the sheet's last row with content are left out (selecting whole
 * columns selects every row of the grid). Columns A–F are read with one `getDisplayValues()` call per
 * contiguous block of rows. Header and empty rows are returned like any other: the sidebar decides.
 *
 * @returns {SelectionContext} a plain object (the shape the Rust sidebar deserializes).
 * @throws {Error} when the backend URL is not set up, when the selection has more than 50,000 rows, or
 *   when Google gives no identity token.
 */
function getSelectionContext() {
  var backendUrl = getBackendUrl();
  var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = spreadsheet.getActiveSheet();
  var rangeList = sheet.getActiveRangeList();
  var ranges = rangeList ? rangeList.getRanges() : [];
  var descriptors = ranges.map(function (range) {
    return { firstRow: range.getRow(), numRows: range.getNumRows() };
  });
  var blocks = clipBlocks_(mergeRowBlocks_(descriptors), sheet.getLastRow());
  checkSelectionSize_(countRows_(blocks), MAX_SELECTED_ROWS_);

  /** @type {SelectedRow[]} */
  var rows = [];
  blocks.forEach(function (block) {
    var values = sheet.getRange(block.firstRow, 1, block.numRows, COLUMNS_READ_).getDisplayValues();
    Array.prototype.push.apply(rows, rowsFromValues_(block.firstRow, values));
  });

  var identityToken = ScriptApp.getIdentityToken();
  if (!identityToken) {
    throw new Error(message_('error-no-identity-token'));
  }
  return {
    spreadsheetId: spreadsheet.getId(),
    sheetId: sheet.getSheetId(),
    sheetTitle: sheet.getName(),
    backendUrl: backendUrl,
    identityToken: identityToken,
    serviceAccountEmail: configuredServiceAccount_(),
    userEmail: Session.getActiveUser().getEmail() || '',
    rows: rows,
    locale: activeLocale_(),
  };
}

/**
 * Proves to the backend that the user can edit this spreadsheet: writes the backend's challenge as
 * developer metadata of the spreadsheet (`Spreadsheet.addDeveloperMetadata(key, nonce, DOCUMENT)`),
 * which only an editor can do — Apps Script throws for a viewer. The backend's service account then
 * reads it back and deletes it. Stale proofs of earlier sidebars (expired nonces) are removed first.
 * Called by the sidebar through `google.script.run.writeAccessProof(key, nonce)`. Needs only
 * `spreadsheets.currentonly`.
 *
 * @param {string} key the metadata key the backend named; must be `almanac-access-proof`.
 * @param {string} nonce the backend's nonce (`ap1.<expiry>.<random>.<mac>`).
 * @returns {void}
 * @throws {Error} when the key or nonce is not the backend's kind (nothing else may be written this
 *   way), or when the user cannot edit the spreadsheet (Apps Script's own exception).
 */
function writeAccessProof(key, nonce) {
  if (key !== ACCESS_PROOF_KEY_ || !isAccessNonce_(nonce)) {
    throw new Error(message_('error-not-access-check'));
  }
  var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
  var now = Date.now();
  spreadsheet
    .createDeveloperMetadataFinder()
    .withKey(ACCESS_PROOF_KEY_)
    .find()
    .forEach(function (metadata) {
      if (isStaleProof_(metadata.getValue(), now)) {
        metadata.remove();
      }
    });
  spreadsheet.addDeveloperMetadata(
    ACCESS_PROOF_KEY_,
    nonce,
    SpreadsheetApp.DeveloperMetadataVisibility.DOCUMENT
  );
}

/**
 * Shares this spreadsheet with the backend's service account as editor
 * (`Spreadsheet.addEditor(email)`, under `spreadsheets.currentonly`), for the sidebar's "Share with
 * Almanac" button. The address is the Script Property `ALMANAC_SERVICE_ACCOUNT_EMAIL` that the
 * script's owner set, never one sent by the sidebar, so nobody can use the button to share the
 * spreadsheet with anyone else.
 *
 * @returns {string} the address the spreadsheet is now shared with.
 * @throws {Error} when the property is unset or not a service account, or the user cannot share the
 *   spreadsheet (Apps Script's own exception).
 */
function shareWithServiceAccount() {
  var email = configuredServiceAccount_();
  if (email === '') {
    throw new Error(message_('error-cannot-share', { property: SERVICE_ACCOUNT_PROPERTY_ }));
  }
  SpreadsheetApp.getActiveSpreadsheet().addEditor(email);
  return email;
}

/**
 * The Script Property `ALMANAC_SERVICE_ACCOUNT_EMAIL`, checked.
 *
 * @returns {string} the service account's email, or '' when unset or not a service account.
 */
function configuredServiceAccount_() {
  return normalizeServiceAccountEmail_(
    PropertiesService.getScriptProperties().getProperty(SERVICE_ACCOUNT_PROPERTY_)
  );
}

/**
 * A service account's email, trimmed and lower case: `name@project.iam.gserviceaccount.com` (or
 * another `…gserviceaccount.com` domain).
 *
 * @param {string | null | undefined} value the configured value.
 * @returns {string} the email, or '' when it is not a service account's.
 */
function normalizeServiceAccountEmail_(value) {
  var email = typeof value === 'string' ? value.trim().toLowerCase() : '';
  return /^[a-z0-9][a-z0-9._-]*@[a-z0-9.-]+\.gserviceaccount\.com$/.test(email) ? email : '';
}

/**
 * Whether a value is an access nonce of the backend: `ap1.<expiry: Unix seconds>.<32 hex>.<mac:
 * base64url>`.
 *
 * @param {unknown} value what the sidebar sent.
 * @returns {boolean} true for a well-formed nonce.
 */
function isAccessNonce_(value) {
  return typeof value === 'string' && /^ap1\.\d{1,12}\.[0-9a-f]{32}\.[A-Za-z0-9_-]{20,100}$/.test(value);
}

/**
 * Whether a stored proof is stale: its nonce's expiry has passed (or it is no nonce at all).
 *
 * @param {string | null} value a developer-metadata value under the proof key.
 * @param {number} nowMs milliseconds since the Unix epoch.
 * @returns {boolean} true when it may be removed.
 */
function isStaleProof_(value, nowMs) {
  if (!isAccessNonce_(value)) {
    return true;
  }
  var expiry = Number(String(value).split('.')[1]);
  return expiry * 1000 < nowMs;
}

/**
 * The backend's base URL, from the Script Property `ALMANAC_BACKEND_URL`. Called by `Sidebar.html`
 * (through `google.script.run`) to know where to load the sidebar from.
 *
 * @returns {string} the URL, `https://…` (or `http://127.0.0.1…`/`http://localhost…` for development),
 *   without a trailing slash.
 * @throws {Error} when the property is unset, or is not such a URL; the message says how to fix it.
 */
function getBackendUrl() {
  var value = PropertiesService.getScriptProperties().getProperty(BACKEND_URL_PROPERTY_);
  return normalizeBackendUrl_(value);
}

/**
 * Sets the Script Property `ALMANAC_BACKEND_URL` after checking it. For setup by the script's owner:
 * from the script editor, run a one-off function such as
 * `function setup() { setBackendUrl_('https://almanac.example.com'); }`, or set the property by hand
 * under Project Settings ▸ Script properties.
 *
 * It is private (trailing `_`) on purpose: a public function could be called by any user of the
 * sidebar through `google.script.run`, and would let them point every user's tokens at their own
 * server.
 *
 * @param {string} url the backend's base URL.
 * @returns {string} the URL as stored (trimmed, without a trailing slash).
 * @throws {Error} when the URL is missing or not https (http only for 127.0.0.1/localhost).
 */
function setBackendUrl_(url) {
  var normalized = normalizeBackendUrl_(url);
  PropertiesService.getScriptProperties().setProperty(BACKEND_URL_PROPERTY_, normalized);
  return normalized;
}

/**
 * Decides whether `onOpen` adds the top-level menu besides the add-on menu.
 *
 * @param {GoogleAppsScript.Script.AuthMode | undefined | null} authMode the event's mode; missing when
 *   run from the editor (which is FULL).
 * @param {GoogleAppsScript.Script.AuthMode} noneMode `ScriptApp.AuthMode.NONE`.
 * @param {boolean} enabled `ADD_TOP_LEVEL_MENU_`.
 * @returns {boolean} true unless disabled or in `AuthMode.NONE`.
 */
function shouldAddTopLevelMenu_(authMode, noneMode, enabled) {
  return enabled && authMode !== noneMode;
}

/**
 * Checks and normalizes a backend base URL.
 *
 * Accepts `https://host[:port][/path]`, and `http://` only for `127.0.0.1` or `localhost` (a backend
 * on the developer's own machine: the sidebar runs in their browser). The path may hold only letters,
 * digits and `. _ ~ % / -`; a query, a fragment, credentials and spaces are refused.
 *
 * @param {string | null | undefined} value the configured value.
 * @returns {string} the value trimmed, without trailing slashes.
 * @throws {Error} when the value is missing or not such a URL; the message says how to fix it.
 */
function normalizeBackendUrl_(value) {
  var url = typeof value === 'string' ? value.trim() : '';
  if (url === '') {
    throw new Error(message_('error-not-set-up', { property: BACKEND_URL_PROPERTY_ }));
  }
  url = url.replace(/\/+$/, '');
  var schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  var scheme = schemeMatch ? schemeMatch[1].toLowerCase() : '';
  var notHttps = new Error(message_('error-not-https', { property: BACKEND_URL_PROPERTY_, url: url }));
  if (scheme !== '' && scheme !== 'https' && scheme !== 'http') {
    throw notHttps;
  }
  var match = /^https?:\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?(\/[a-z0-9._~%/-]*)?$/i.exec(url);
  if (!match) {
    throw new Error(message_('error-not-base-url', { property: BACKEND_URL_PROPERTY_, url: url }));
  }
  var host = match[1].toLowerCase();
  if (scheme === 'http' && host !== '127.0.0.1' && host !== 'localhost') {
    throw notHttps;
  }
  return url;
}

/**
 * Turns the ranges of a selection into sorted, disjoint blocks of whole rows: overlapping and touching
 * ranges become one block, so that each block is read with one call.
 *
 * @param {{firstRow: number, numRows: number}[]} rangeDescriptors each range's first row (1-based) and
 *   number of rows, in any order; ranges with no rows are ignored.
 * @returns {RowBlock[]} blocks sorted by `firstRow`, none overlapping or touching another.
 */
function mergeRowBlocks_(rangeDescriptors) {
  var sorted = rangeDescriptors
    .filter(function (d) {
      return d.numRows > 0 && d.firstRow >= 1;
    })
    .map(function (d) {
      return { firstRow: d.firstRow, lastRow: d.firstRow + d.numRows - 1 };
    })
    .sort(function (a, b) {
      return a.firstRow - b.firstRow;
    });
  /** @type {{firstRow: number, lastRow: number}[]} */
  var merged = [];
  sorted.forEach(function (span) {
    var last = merged[merged.length - 1];
    if (last && span.firstRow <= last.lastRow + 1) {
      last.lastRow = Math.max(last.lastRow, span.lastRow);
    } else {
      merged.push({ firstRow: span.firstRow, lastRow: span.lastRow });
    }
  });
  return merged.map(function (span) {
    return { firstRow: span.firstRow, numRows: span.lastRow - span.firstRow + 1 };
  });
}

/**
 * Cuts blocks at the sheet's last row with content: rows below it are empty in every column.
 *
 * @param {RowBlock[]} blocks sorted, disjoint blocks (from `mergeRowBlocks_`).
 * @param {number} lastRow `Sheet.getLastRow()`: 0 for an empty sheet.
 * @returns {RowBlock[]} the blocks within rows 1..lastRow, empty blocks dropped.
 */
function clipBlocks_(blocks, lastRow) {
  /** @type {RowBlock[]} */
  var clipped = [];
  blocks.forEach(function (block) {
    var end = Math.min(block.firstRow + block.numRows - 1, lastRow);
    if (end >= block.firstRow) {
      clipped.push({ firstRow: block.firstRow, numRows: end - block.firstRow + 1 });
    }
  });
  return clipped;
}

/**
 * Counts the rows of disjoint blocks.
 *
 * @param {RowBlock[]} blocks disjoint blocks.
 * @returns {number} the total number of rows.
 */
function countRows_(blocks) {
  return blocks.reduce(function (sum, block) {
    return sum + block.numRows;
  }, 0);
}

/**
 * Refuses a selection that has too many rows, before anything is read.
 *
 * @param {number} rowCount rows in the selection.
 * @param {number} maxRows the most allowed.
 * @returns {void}
 * @throws {Error} when `rowCount` is above `maxRows`, saying both numbers.
 */
function checkSelectionSize_(rowCount, maxRows) {
  if (rowCount > maxRows) {
    throw new Error(message_('error-too-many-rows', { count: rowCount, max: maxRows }));
  }
}

/**
 * Turns the display values of a block of rows (columns A–F) into selected rows.
 *
 * @param {number} firstRow 1-based row number of `values[0]`.
 * @param {unknown[][]} values `Range.getDisplayValues()` of the block: one array per row, columns A–F
 *   (missing cells count as empty).
 * @returns {SelectedRow[]} one entry per row, in order: id and title trimmed, and whether C–F are
 *   non-empty after trimming.
 */
function rowsFromValues_(firstRow, values) {
  return values.map(function (cells, index) {
    return {
      rowNumber: firstRow + index,
      id: cellText_(cells[0]),
      title: cellText_(cells[1]),
      filled: [2, 3, 4, 5].map(function (column) {
        return cellText_(cells[column]) !== '';
      }),
    };
  });
}

/**
 * The trimmed text of a cell.
 *
 * @param {unknown} value a display value (normally a string); `null`/`undefined` count as empty.
 * @returns {string} the text, trimmed.
 */
function cellText_(value) {
  return value === null || value === undefined ? '' : String(value).trim();
}

/**
 * The user's locale as Apps Script reports it, `Session.getActiveUserLocale()` (no scope needed, also
 * in `AuthMode.NONE`).
 *
 * @returns {string} e.g. `ko`, `en`, `pt_BR`; '' when Apps Script does not say.
 */
function activeLocale_() {
  try {
    return Session.getActiveUserLocale() || '';
  } catch (e) {
    return '';
  }
}

/**
 * The language of a locale among those of `MESSAGES_`.
 *
 * @param {string} locale `ko`, `ko_KR`, `en-US`, …
 * @returns {string} its language when Almanac speaks it, else `en`.
 */
function langOf_(locale) {
  var primary = String(locale || '').split(/[-_]/)[0].toLowerCase();
  return Object.prototype.hasOwnProperty.call(MESSAGES_, primary) ? primary : 'en';
}

/**
 * The user's language (`langOf_(activeLocale_())`).
 *
 * @returns {string} `en` or `ko`.
 */
function userLang_() {
  return langOf_(activeLocale_());
}

/**
 * Message `id` of `MESSAGES_` in `lang` (English when that language lacks it), each `{name}` replaced
 * by `args[name]`.
 *
 * @param {string} lang `en` or `ko`.
 * @param {string} id the message's id in `locales/<lang>/appsscript.ftl`.
 * @param {Object<string, string | number>} [args] the values of its variables.
 * @returns {string} the text (the id itself for an unknown message).
 */
function formatMessage_(lang, id, args) {
  var table = MESSAGES_[lang] || MESSAGES_.en;
  var text = table[id] !== undefined ? table[id] : MESSAGES_.en[id];
  if (text === undefined) {
    return id;
  }
  return text.replace(/\{([A-Za-z0-9_-]+)\}/g, function (whole, name) {
    return args && args[name] !== undefined ? String(args[name]) : whole;
  });
}

/**
 * Message `id` in the user's language (see `formatMessage_`).
 *
 * @param {string} id the message's id.
 * @param {Object<string, string | number>} [args] the values of its variables.
 * @returns {string} the text.
 */
function message_(id, args) {
  return formatMessage_(userLang_(), id, args);
}

/**
 * The messages `Sidebar.html` shows before the app has loaded, in the user's language, as a JSON
 * object (`boot-loading`, `boot-slow`, `boot-unreachable` with `{url}`, `boot-failed`,
 * `boot-not-set-up`) for the template's `data-messages` attribute.
 *
 * @returns {string} JSON text.
 */
function bootMessages_() {
  /** @type {Object<string, string>} */
  var out = {};
  ['boot-loading', 'boot-slow', 'boot-unreachable', 'boot-failed', 'boot-not-set-up'].forEach(function (id) {
    out[id] = message_(id);
  });
  return JSON.stringify(out);
}

// For the Node tests only; Apps Script has no `module`, so this does nothing there.
if (typeof module !== 'undefined') {
  module.exports = {
    onOpen: onOpen,
    onInstall: onInstall,
    showSidebar: showSidebar,
    include_: include_,
    getSelectionContext: getSelectionContext,
    writeAccessProof: writeAccessProof,
    shareWithServiceAccount: shareWithServiceAccount,
    getBackendUrl: getBackendUrl,
    setBackendUrl_: setBackendUrl_,
    shouldAddTopLevelMenu_: shouldAddTopLevelMenu_,
    normalizeBackendUrl_: normalizeBackendUrl_,
    mergeRowBlocks_: mergeRowBlocks_,
    clipBlocks_: clipBlocks_,
    countRows_: countRows_,
    checkSelectionSize_: checkSelectionSize_,
    rowsFromValues_: rowsFromValues_,
    cellText_: cellText_,
    normalizeServiceAccountEmail_: normalizeServiceAccountEmail_,
    isAccessNonce_: isAccessNonce_,
    isStaleProof_: isStaleProof_,
    activeLocale_: activeLocale_,
    langOf_: langOf_,
    formatMessage_: formatMessage_,
    message_: message_,
    bootMessages_: bootMessages_,
    MAX_SELECTED_ROWS_: MAX_SELECTED_ROWS_,
  };
}
