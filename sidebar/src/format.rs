//! How numbers read in a 300 px sidebar: dollars, token counts, durations and plurals. Pure
//! functions, tested on the host.

/// `$0.0123`, `$1.23`, `$1,234.50`; very small amounts keep two significant digits.
pub fn usd(amount: f64) -> String {
    if !amount.is_finite() || amount <= 0.0 {
        return "$0.00".into();
    }
    if amount < 0.01 {
        let digits = (-amount.log10()).ceil() as usize + 1;
        return format!("${amount:.digits$}");
    }
    let cents = (amount * 100.0).round() as u64;
    format!("${}.{:02}", thousands(cents / 100), cents % 100)
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

/// `45 s`, `3 min 05 s`, `2 h 07 min`, `about 1 day`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min {:02} s", seconds / 60, seconds % 60),
        3600..=86_399 => format!("{} h {:02} min", seconds / 3600, (seconds % 3600) / 60),
        _ => format!("about {} day{}", seconds / 86_400, plural(seconds / 86_400)),
    }
}

/// `""` for one, `"s"` otherwise.
pub fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `1 row`, `3 rows`.
pub fn rows(n: u64) -> String {
    format!("{n} row{}", plural(n))
}

/// Percent done of a progress bar, 0–100.
pub fn percent(done: u64, total: u64) -> u64 {
    (done.min(total) * 100).checked_div(total).unwrap_or(0)
}

/// One line about a job's money: `Cost $0.0123 · estimate $0.0150 (−18%)` once responses
/// reported usage, `Estimate $0.0150` before, and `None` for a job without figures. The cap is
/// appended when one was set (`· cap $1.00`).
pub fn cost_line(cost: &almanac_protocol::JobCost) -> Option<String> {
    let cap = cost
        .max_cost_usd
        .map(|m| format!(" · cap {}", usd(m)))
        .unwrap_or_default();
    if cost.actual_rows > 0 {
        let error = cost
            .estimate_error
            .map(|e| {
                let pct = (e * 100.0).round() as i64;
                if pct >= 0 {
                    format!(" (+{pct}%)")
                } else {
                    format!(" (−{}%)", -pct)
                }
            })
            .unwrap_or_default();
        Some(format!(
            "Cost {} · estimate {}{error}{cap}",
            usd(cost.actual_usd),
            usd(cost.estimated_usd)
        ))
    } else if cost.estimated_usd > 0.0 {
        Some(format!("Estimate {}{cap}", usd(cost.estimated_usd)))
    } else {
        None
    }
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
}
