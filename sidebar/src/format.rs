//! How numbers read in a 300 px sidebar: dollars, token counts, durations and plurals, in the
//! sidebar's language ([`crate::i18n`]: the words and the currency's form come from the Fluent
//! files; digits are grouped by thousands with a comma in both English and Korean). Pure
//! functions, tested on the host.

use crate::i18n::{t, tf};

/// `$0.0123`, `$1.23`, `$1,234.50` (Korean: `US$1,234.50`); very small amounts keep two
/// significant digits.
pub fn usd(amount: f64) -> String {
    tf("money-usd", &[("amount", usd_digits(amount).into())])
}

/// The digits of [`usd`]: `0.0123`, `1,234.50`.
fn usd_digits(amount: f64) -> String {
    if !amount.is_finite() || amount <= 0.0 {
        return "0.00".into();
    }
    if amount < 0.01 {
        let digits = (-amount.log10()).ceil() as usize + 1;
        return format!("{amount:.digits$}");
    }
    let cents = (amount * 100.0).round() as u64;
    format!("{}.{:02}", thousands(cents / 100), cents % 100)
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `45 s`, `3 min 05 s`, `2 h 07 min`, `about 1 day` (Korean: `45초`, `3분 05초`, …).
pub fn duration(seconds: u64) -> String {
    let two = |n: u64| format!("{n:02}");
    match seconds {
        0..=59 => tf("duration-seconds", &[("s", seconds.into())]),
        60..=3599 => tf(
            "duration-minutes",
            &[
                ("m", (seconds / 60).into()),
                ("s", two(seconds % 60).into()),
            ],
        ),
        3600..=86_399 => tf(
            "duration-hours",
            &[
                ("h", (seconds / 3600).into()),
                ("m", two((seconds % 3600) / 60).into()),
            ],
        ),
        _ => tf("duration-days", &[("d", (seconds / 86_400).into())]),
    }
}

/// `~3 min 05 s` (Korean: `약 3분 05초`): an expected wait.
pub fn about(seconds: u64) -> String {
    tf("about", &[("value", duration(seconds).into())])
}

/// `1 row`, `3 rows`, `1,234 rows` (Korean: `3개 행`).
pub fn rows(n: u64) -> String {
    tf("rows", &[("count", n.into()), ("n", thousands(n).into())])
}

/// Percent done of a progress bar, 0–100.
pub fn percent(done: u64, total: u64) -> u64 {
    (done.min(total) * 100).checked_div(total).unwrap_or(0)
}

/// One line about a job's money: `Cost $0.0123 · estimate $0.0150 (−18%)` once responses
/// reported usage, `Estimate $0.0150` before, and `None` for a job without figures. The cap is
/// appended when one was set (`· cap $1.00`).
pub fn cost_line(cost: &almanac_protocol::JobCost) -> Option<String> {
    let mut line = if cost.actual_rows > 0 {
        let mut line = tf(
            "cost-actual",
            &[
                ("actual", usd(cost.actual_usd).into()),
                ("estimate", usd(cost.estimated_usd).into()),
            ],
        );
        if let Some(e) = cost.estimate_error {
            let pct = (e * 100.0).round() as i64;
            let (id, pct) = if pct >= 0 {
                ("cost-over", pct)
            } else {
                ("cost-under", -pct)
            };
            line.push(' ');
            line.push_str(&tf(id, &[("pct", pct.into())]));
        }
        line
    } else if cost.estimated_usd > 0.0 {
        tf(
            "cost-estimate",
            &[("estimate", usd(cost.estimated_usd).into())],
        )
    } else {
        return None;
    };
    if let Some(cap) = cost.max_cost_usd {
        line.push_str(" · ");
        line.push_str(&tf("cost-cap", &[("cap", usd(cap).into())]));
    }
    Some(line)
}

/// The words of a mode: `Batch`, `Realtime`, `Auto`.
pub fn mode(mode: almanac_protocol::Mode) -> String {
    t(match mode {
        almanac_protocol::Mode::Batch => "mode-batch",
        almanac_protocol::Mode::Realtime => "mode-realtime",
        almanac_protocol::Mode::Auto => "mode-auto",
    })
}

/// A job's status in words (`OpenAI is writing the content`).
pub fn status(status: almanac_protocol::JobStatus) -> String {
    t(&format!("status-{}", status.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_line_shows_actual_against_estimate_with_the_error() {
        let mut cost = almanac_protocol::JobCost {
            estimated_usd: 0.002,
            ..Default::default()
        };
        assert_eq!(cost_line(&cost).as_deref(), Some("Estimate $0.0020"));
        cost.actual_rows = 3;
        cost.actual_usd = 0.00164;
        cost.estimate_error = Some(-0.18);
        cost.max_cost_usd = Some(1.0);
        assert_eq!(
            cost_line(&cost).as_deref(),
            Some("Cost $0.0016 · estimate $0.0020 (−18%) · cap $1.00")
        );
        cost.estimate_error = Some(0.05);
        assert!(cost_line(&cost).unwrap().contains("(+5%)"));
        assert_eq!(cost_line(&almanac_protocol::JobCost::default()), None);
    }

    #[test]
    fn dollars_show_cents_or_two_significant_digits_for_tiny_amounts() {
        assert_eq!(usd(1234.5), "$1,234.50");
        assert_eq!(usd(0.5), "$0.50");
        assert_eq!(usd(0.0042), "$0.0042");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(f64::NAN), "$0.00");
    }

    #[test]
    fn durations_use_the_largest_sensible_unit() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(185), "3 min 05 s");
        assert_eq!(duration(7620), "2 h 07 min");
        assert_eq!(duration(90_000), "about 1 day");
    }

    #[test]
    fn counts_are_grouped_and_pluralised() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(rows(1), "1 row");
        assert_eq!(rows(0), "0 rows");
        assert_eq!(percent(3, 4), 75);
        assert_eq!(percent(5, 0), 0);
    }

    #[test]
    fn korean_numbers_money_and_times_read_as_korean() {
        crate::i18n::set_lang(crate::i18n::Lang::Ko);
        assert_eq!(usd(1234.5), "US$1,234.50");
        assert_eq!(duration(185), "3분 05초");
        assert_eq!(about(7620), "약 2시간 07분");
        assert_eq!(duration(90_000), "약 1일");
        assert_eq!(rows(1_234), "1,234개 행");
        assert_eq!(status(almanac_protocol::JobStatus::Completed), "완료");
        let cost = almanac_protocol::JobCost {
            estimated_usd: 0.002,
            actual_rows: 3,
            actual_usd: 0.00164,
            estimate_error: Some(-0.18),
            max_cost_usd: Some(1.0),
            ..Default::default()
        };
        assert_eq!(
            cost_line(&cost).as_deref(),
            Some("비용 US$0.0016 · 예상 US$0.0020 (−18%) · 한도 US$1.00")
        );
        crate::i18n::set_lang(crate::i18n::Lang::En);
    }
}
