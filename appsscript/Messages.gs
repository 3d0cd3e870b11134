/**
 * @fileoverview The Apps Script side's messages in every language of Almanac, generated from
 * locales/<lang>/appsscript.ftl by `node tests/appsscript/messages.js`: do not edit by hand.
 * Code.gs's `message_(id, args)` picks the user's language and fills `{variable}`.
 */

/** @type {Object<string, Object<string, string>>} */
var MESSAGES_ = {
  "en": {
    "menu-generate": "Generate",
    "sidebar-title": "Almanac",
    "error-no-identity-token": "Almanac could not get a Google identity token for you: the \"openid\" scope must be in appsscript.json and granted. Reload the spreadsheet and authorize Almanac again.",
    "error-not-access-check": "Almanac: this is not an access check of the Almanac backend.",
    "error-cannot-share": "Almanac cannot share the spreadsheet by itself: the Script Property {property} is not set. Share it with the service account's address as Editor (Share button, top right).",
    "error-not-set-up": "Almanac is not set up: the Script Property {property} is not set. Set it to the backend's https:// address under Extensions ▸ Apps Script ▸ Project Settings ▸ Script properties.",
    "error-not-https": "{property} must start with https:// (http:// is allowed only for 127.0.0.1 or localhost during development); it is \"{url}\".",
    "error-not-base-url": "{property} must be a base URL such as https://almanac.example.com (no spaces, credentials, query or fragment); it is \"{url}\".",
    "error-too-many-rows": "The selection has {count} rows; Almanac takes at most {max} rows at a time. Select fewer rows and try again.",
    "boot-loading": "Loading Almanac…",
    "boot-slow": "Almanac is taking too long to load.",
    "boot-unreachable": "Almanac could not reach its server at {url}. Check your connection and try again; if it keeps failing, ask whoever set up Almanac whether the server is running and ALMANAC_BACKEND_URL is right.",
    "boot-failed": "Almanac could not load.",
    "boot-not-set-up": "Almanac is not set up."
  },
  "ko": {
    "menu-generate": "생성",
    "sidebar-title": "Almanac",
    "error-no-identity-token": "Almanac이 Google ID 토큰을 받지 못했습니다: appsscript.json에 \"openid\" 범위가 있고 승인되어 있어야 합니다. 스프레드시트를 새로고침하고 Almanac을 다시 승인하세요.",
    "error-not-access-check": "Almanac: Almanac 백엔드의 접근 확인이 아닙니다.",
    "error-cannot-share": "Almanac이 스프레드시트를 직접 공유할 수 없습니다: 스크립트 속성 {property}이(가) 설정되지 않았습니다. 서비스 계정 주소와 편집자 권한으로 공유하세요(오른쪽 위 공유 버튼).",
    "error-not-set-up": "Almanac이 설정되지 않았습니다: 스크립트 속성 {property}이(가) 설정되지 않았습니다. 확장 프로그램 ▸ Apps Script ▸ 프로젝트 설정 ▸ 스크립트 속성에서 백엔드의 https:// 주소로 설정하세요.",
    "error-not-https": "{property}은(는) https://로 시작해야 합니다(http://는 개발 중 127.0.0.1이나 localhost에만 허용). 지금 값은 \"{url}\"입니다.",
    "error-not-base-url": "{property}은(는) https://almanac.example.com 같은 기본 URL이어야 합니다(공백, 자격 증명, 쿼리, 프래그먼트 없이). 지금 값은 \"{url}\"입니다.",
    "error-too-many-rows": "선택 영역이 {count}행입니다. Almanac은 한 번에 최대 {max}행까지 처리합니다. 행을 더 적게 선택하고 다시 시도하세요.",
    "boot-loading": "Almanac을 불러오는 중…",
    "boot-slow": "Almanac을 불러오는 데 너무 오래 걸립니다.",
    "boot-unreachable": "Almanac이 서버({url})에 연결하지 못했습니다. 연결을 확인하고 다시 시도하세요. 계속 실패하면 Almanac을 설정한 사람에게 서버가 실행 중인지, ALMANAC_BACKEND_URL이 맞는지 물어보세요.",
    "boot-failed": "Almanac을 불러오지 못했습니다.",
    "boot-not-set-up": "Almanac이 설정되지 않았습니다."
  }
};
