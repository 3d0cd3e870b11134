# The sidebar's messages in English (the fallback language). Every message here must also be in
# ko/sidebar.ftl: `cargo test -p almanac-sidebar` fails otherwise. How to add one: README, "Languages".

## Numbers, money and times

# An amount in US dollars; $amount is already written with its digits and separators.
money-usd = ${ $amount }
# $n: the count as shown (1,234); $count: the number, for the plural.
rows = { $count ->
    [one] { $n } row
   *[other] { $n } rows
}
duration-seconds = { $s } s
duration-minutes = { $m } min { $s } s
duration-hours = { $h } h { $m } min
duration-days = about { $d ->
    [one] 1 day
   *[other] { $d } days
}
about = ~{ $value }

## The frame

app-title = Almanac
refresh-selection = Refresh selection
reading-selection = Reading your selection…
tabs-label = Almanac
tab-generate = Generate
tab-chat = Chat
sheet-line = Sheet “{ $title }”
sheet-line-email = Sheet “{ $title }” · { $email }

## Access (the set-up step)

access-label = Access
access-checking = Checking that Almanac can work on this spreadsheet…
access-cannot-edit = You can only view this spreadsheet, so Almanac cannot fill it for you. Ask its owner for edit access, then reopen the sidebar.
access-failed = Almanac could not check its access to this spreadsheet: { $error }
share-label = Share with Almanac
share-heading = One step before the first Generate or Chat
share-explain = Share this spreadsheet with Almanac's service account as Editor, so that it can write the results:
share-button = Share with Almanac
share-by-hand = Or: Share (top right) ▸ add the address above ▸ Editor ▸ Send.
check-again = Check again

## The Generate tab

selection-label = Selection
selection-empty = No rows are selected. Select the rows to fill (click the row numbers), then press Refresh selection.
count-selected = Selected
count-filled = Already filled
count-to-generate = To generate
selection-skipped = { $rows } with C–F filled will be skipped.
selection-header = The header row is selected; it is left out.
selection-missing = { $count ->
    [one] Row
   *[other] Rows
} without an id (A) or a title (B) will not be generated: { $rows }.
selection-nothing = Nothing to generate in this selection.
model-label = Model
model-loading = Loading…
models-failed = Could not list the models: { $error }
estimate-label = Estimate
estimating = Estimating…
estimate-pick-model = Pick a model to see the cost.
estimate-failed = No estimate: { $error }
estimate-tokens = { $rows }: { $input } input + ~{ $output } output tokens
estimate-tokens-history = { $rows }: { $input } input + ~{ $output } output tokens (from past jobs)
estimate-per-row = Per row: { $batch } batch · { $realtime } realtime
estimate-saves = Batch mode saves { $amount } (results within 24 h at most).
estimate-prices-as-of = Prices as of { $date }.
costs-mode = Mode
costs-cost = Cost
costs-wait = Wait
mode-batch = Batch
mode-realtime = Realtime
mode-auto = Auto
mode-auto-note = Realtime if small or urgent, else batch
generate-button = Generate
generate-starting = Starting…
jobs-title = Jobs on this spreadsheet
jobs-loading = Loading jobs…
jobs-list-failed = Could not list the jobs: { $error }
jobs-none = No jobs yet.

## A job's card

status-created = Queued: rows read, waiting to be sent
status-submitting = Sending the rows to OpenAI
status-validating = OpenAI is checking the batch
status-in_progress = OpenAI is writing the content
status-finalizing = OpenAI is finishing the batch
status-writing = Writing the results into the sheet
status-completed = Done
status-failed = Failed
status-cancelling = Cancelling
status-cancelled = Cancelled
status-expired = Expired: finished rows were written
job-heading = { $rows } · { $model } · { $mode } · { $time }
job-counts = { $completed } completed · { $failed } failed · { $total } total
job-outcome = { $done } written · { $skipped } skipped · { $failed } failed
job-progress-label = Requests done
job-submitted = Submitted { $time } ago · { $link }
job-took = Took { $time }
link-live = live
link-reconnecting = connection lost, reconnecting (try { $n })
link-polling = checking every { $s } s
cost-actual = Cost { $actual } · estimate { $estimate }
cost-estimate = Estimate { $estimate }
cost-over = (+{ $pct }%)
cost-under = (−{ $pct }%)
cost-cap = cap { $cap }
failed-rows-label = Failed rows
failed-row = Row { $row } ({ $id }): { $reason }
failed-row-no-reason = failed
retry-button = Retry failed rows
retrying = Retrying…
cancel-button = Cancel

## The Chat tab

chat-region = Chat about this sheet
chat-new = New conversation
chat-log = Conversation
chat-empty = Ask about this sheet: what a row says, how many events per decade, a chart…
chat-you = You
chat-almanac = Almanac
chat-answering-label = Almanac, answering
chat-load-failed = Could not load the conversation: { $error }
chat-doing-lookup = Reading the sheet's rows…
chat-doing-code = Running the code interpreter on the sheet…
chat-doing-writing = Writing…
chat-ask-label = Ask about this sheet
chat-selected-only = Only the selected rows
chat-wait-access = Ask is enabled once Almanac can work on this spreadsheet (see above).
chat-ask = Ask
chat-answering = Answering…
chat-broke-off = The answer broke off: ask again.
chat-cost = { $tokens } tokens · { $cost }
chart-loading = Loading the chart…
chart-alt = Chart made by the code interpreter from the sheet's rows
chart-failed = The chart could not be loaded: { $error }
file-failed = The file could not be downloaded: { $error }
# Where a code block's text can be scrolled sideways (a label for screen readers).
code-block-label = Code
table-label = Table

## Errors

error-read-selection = Could not read the selection: { $error }
error-unexpected-selection = The sheet sent an unexpected selection: { $error }
error-unreachable = The backend cannot be reached ({ $error })
error-http = The backend answered HTTP { $status }
error-unexpected-answer = The backend sent an unexpected answer: { $error }
error-broke-off = The answer broke off ({ $error })
