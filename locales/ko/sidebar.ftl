# 사이드바의 한국어 메시지. en/sidebar.ftl의 모든 메시지가 여기에도 있어야 합니다
# (없으면 `cargo test -p almanac-sidebar`가 실패합니다). 추가하는 방법: README, "Languages".

## Numbers, money and times

money-usd = US${ $amount }
rows = { $n }개 행
duration-seconds = { $s }초
duration-minutes = { $m }분 { $s }초
duration-hours = { $h }시간 { $m }분
duration-days = 약 { $d }일
about = 약 { $value }

## The frame

app-title = Almanac
refresh-selection = 선택 영역 새로고침
reading-selection = 선택 영역을 읽는 중…
tabs-label = Almanac
tab-generate = 생성
tab-chat = 채팅
sheet-line = 시트 “{ $title }”
sheet-line-email = 시트 “{ $title }” · { $email }

## Access (the set-up step)

access-label = 접근 권한
access-checking = Almanac이 이 스프레드시트에서 작업할 수 있는지 확인하는 중…
access-cannot-edit = 이 스프레드시트를 보기만 할 수 있어 Almanac이 내용을 채울 수 없습니다. 소유자에게 편집 권한을 요청한 뒤 사이드바를 다시 여세요.
access-failed = Almanac이 이 스프레드시트에 대한 접근 권한을 확인하지 못했습니다: { $error }
share-label = Almanac과 공유
share-heading = 처음 생성하거나 채팅하기 전에 한 단계
share-explain = 결과를 쓸 수 있도록 이 스프레드시트를 Almanac의 서비스 계정과 편집자 권한으로 공유하세요:
share-button = Almanac과 공유
share-by-hand = 또는: 공유(오른쪽 위) ▸ 위 주소 추가 ▸ 편집자 ▸ 보내기.
check-again = 다시 확인

## The Generate tab

selection-label = 선택 영역
selection-empty = 선택한 행이 없습니다. 채울 행을 선택한 뒤(행 번호 클릭) 선택 영역 새로고침을 누르세요.
count-selected = 선택됨
count-filled = 이미 채워짐
count-to-generate = 생성할 행
selection-skipped = C–F가 채워진 { $rows }은 건너뜁니다.
selection-header = 머리글 행이 선택되어 있어 제외합니다.
selection-missing = ID(A)나 제목(B)이 없는 행은 생성하지 않습니다: { $rows }.
selection-nothing = 이 선택 영역에는 생성할 행이 없습니다.
model-label = 모델
model-loading = 불러오는 중…
models-failed = 모델 목록을 불러오지 못했습니다: { $error }
estimate-label = 예상 비용
estimating = 비용을 계산하는 중…
estimate-pick-model = 비용을 보려면 모델을 고르세요.
estimate-failed = 예상 비용 없음: { $error }
estimate-tokens = { $rows }: 입력 { $input } + 출력 약 { $output } 토큰
estimate-tokens-history = { $rows }: 입력 { $input } + 출력 약 { $output } 토큰(이전 작업 기준)
estimate-per-row = 행당: 배치 { $batch } · 실시간 { $realtime }
estimate-saves = 배치 모드로 { $amount } 절약합니다(결과는 최대 24시간 안에).
estimate-prices-as-of = { $date } 기준 가격입니다.
costs-mode = 모드
costs-cost = 비용
costs-wait = 대기 시간
mode-batch = 배치
mode-realtime = 실시간
mode-auto = 자동
mode-auto-note = 작거나 급하면 실시간, 아니면 배치
generate-button = 생성
generate-starting = 시작하는 중…
jobs-title = 이 스프레드시트의 작업
jobs-loading = 작업을 불러오는 중…
jobs-list-failed = 작업 목록을 불러오지 못했습니다: { $error }
jobs-none = 아직 작업이 없습니다.

## A job's card

status-created = 대기 중: 행을 읽었고 전송을 기다립니다
status-submitting = 행을 OpenAI로 보내는 중
status-validating = OpenAI가 배치를 확인하는 중
status-in_progress = OpenAI가 내용을 작성하는 중
status-finalizing = OpenAI가 배치를 마무리하는 중
status-writing = 결과를 시트에 쓰는 중
status-completed = 완료
status-failed = 실패
status-cancelling = 취소하는 중
status-cancelled = 취소됨
status-expired = 만료됨: 끝난 행은 기록했습니다
job-heading = { $rows } · { $model } · { $mode } · { $time }
job-counts = 완료 { $completed } · 실패 { $failed } · 전체 { $total }
job-outcome = { $done }개 기록 · { $skipped }개 건너뜀 · { $failed }개 실패
job-progress-label = 처리한 요청
job-submitted = { $time } 전에 제출 · { $link }
job-took = 소요 시간 { $time }
link-live = 실시간 연결
link-reconnecting = 연결이 끊겨 다시 연결하는 중({ $n }번째 시도)
link-polling = { $s }초마다 확인하는 중
cost-actual = 비용 { $actual } · 예상 { $estimate }
cost-estimate = 예상 비용 { $estimate }
cost-over = (+{ $pct }%)
cost-under = (−{ $pct }%)
cost-cap = 한도 { $cap }
failed-rows-label = 실패한 행
failed-row = { $row }행 ({ $id }): { $reason }
failed-row-no-reason = 실패
retry-button = 실패한 행 다시 시도
retrying = 다시 시도하는 중…
cancel-button = 취소

## The Chat tab

chat-region = 이 시트에 대한 채팅
chat-new = 새 대화
chat-log = 대화
chat-empty = 이 시트에 대해 물어보세요: 어떤 행의 내용, 연대별 사건 수, 차트…
chat-you = 나
chat-almanac = Almanac
chat-answering-label = Almanac, 답하는 중
chat-load-failed = 대화를 불러오지 못했습니다: { $error }
chat-doing-lookup = 시트의 행을 읽는 중…
chat-doing-code = 시트에서 코드 인터프리터를 실행하는 중…
chat-doing-writing = 작성하는 중…
chat-ask-label = 이 시트에 대해 질문하기
chat-selected-only = 선택한 행만
chat-wait-access = Almanac이 이 스프레드시트에서 작업할 수 있게 되면 질문할 수 있습니다(위 참고).
chat-ask = 질문
chat-answering = 답하는 중…
chat-broke-off = 답변이 중간에 끊겼습니다. 다시 질문하세요.
chat-cost = { $tokens } 토큰 · { $cost }
chart-loading = 차트를 불러오는 중…
chart-alt = 코드 인터프리터가 시트의 행으로 만든 차트
chart-failed = 차트를 불러오지 못했습니다: { $error }
file-failed = 파일을 내려받지 못했습니다: { $error }
code-block-label = 코드
table-label = 표

## Errors

error-read-selection = 선택 영역을 읽지 못했습니다: { $error }
error-unexpected-selection = 시트가 예상하지 못한 선택 영역을 보냈습니다: { $error }
error-unreachable = 백엔드에 연결할 수 없습니다({ $error })
error-http = 백엔드가 HTTP { $status }(으)로 응답했습니다
error-unexpected-answer = 백엔드가 예상하지 못한 답을 보냈습니다: { $error }
error-broke-off = 답변이 중간에 끊겼습니다({ $error })
