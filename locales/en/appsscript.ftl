# The Apps Script side's messages in English: the menu, Code.gs's errors and Sidebar.html's boot
# messages. appsscript/Messages.gs is generated from this file and ko/appsscript.ftl by
# `node tests/appsscript/messages.js` (Apps Script cannot load a library): plain text and
# { $variables } only. Every message must also be in ko/appsscript.ftl.

menu-generate = Generate
sidebar-title = Almanac
error-no-identity-token = Almanac could not get a Google identity token for you: the "openid" scope must be in appsscript.json and granted. Reload the spreadsheet and authorize Almanac again.
error-not-access-check = Almanac: this is not an access check of the Almanac backend.
error-cannot-share = Almanac cannot share the spreadsheet by itself: the Script Property { $property } is not set. Share it with the service account's address as Editor (Share button, top right).
error-not-set-up = Almanac is not set up: the Script Property { $property } is not set. Set it to the backend's https:// address under Extensions ▸ Apps Script ▸ Project Settings ▸ Script properties.
error-not-https = { $property } must start with https:// (http:// is allowed only for 127.0.0.1 or localhost during development); it is "{ $url }".
error-not-base-url = { $property } must be a base URL such as https://almanac.example.com (no spaces, credentials, query or fragment); it is "{ $url }".
error-too-many-rows = The selection has { $count } rows; Almanac takes at most { $max } rows at a time. Select fewer rows and try again.
boot-loading = Loading Almanac…
boot-slow = Almanac is taking too long to load.
boot-unreachable = Almanac could not reach its server at { $url }. Check your connection and try again; if it keeps failing, ask whoever set up Almanac whether the server is running and ALMANAC_BACKEND_URL is right.
boot-failed = Almanac could not load.
boot-not-set-up = Almanac is not set up.
