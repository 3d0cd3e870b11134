//! clap value parsers of the settings, so that a value is read and checked once, where clap reads
//! it: durations (a plain number of seconds — what every `…_SECS` variable has always taken — or a
//! humantime duration such as `500ms`, `30s`, `6h`, `6_hours`), whole numbers with a floor, the
//! chat's model (resolved in the catalogue) and secrets. A refused value stops the command at start
//! with a message naming the setting (its environment variable and its flag) and the rule.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use secrecy::SecretString;

/// Reads a setting's text, or says what is wrong with it.
type Read<T> = dyn Fn(&str) -> Result<T, String> + Send + Sync;

/// A clap value parser that reads text with `read`, whose error completes the sentence
/// "`SETTING` …" (e.g. "must be a whole number of at least 1, not \"0\"").
#[derive(Clone)]
pub struct Checked<T> {
    read: Arc<Read<T>>,
    /// The values `--help` lists (an enumeration's), or none.
    choices: Vec<PossibleValue>,
}

impl<T> Checked<T> {
    fn new(read: impl Fn(&str) -> Result<T, String> + Send + Sync + 'static) -> Checked<T> {
        Checked {
            read: Arc::new(read),
            choices: Vec::new(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Checked<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let refuse = |problem: String| {
            let message = format!("{} {problem}\n", setting_name(arg));
            clap::Error::raw(ErrorKind::ValueValidation, message).with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse(format!("must be UTF-8 text, not {value:?}")))?;
        (self.read)(text).map_err(refuse)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        if self.choices.is_empty() {
            return None;
        }
        Some(Box::new(self.choices.iter().cloned()))
    }
}

/// `ALMANAC_X (--x)`: how a person names the setting `arg`.
fn setting_name(arg: Option<&clap::Arg>) -> String {
    let env = arg.and_then(clap::Arg::get_env).map(OsStr::to_string_lossy);
    let long = arg.and_then(clap::Arg::get_long);
    match (env, long) {
        (Some(env), Some(long)) => format!("{env} (--{long})"),
        (Some(env), None) => env.into_owned(),
        (None, Some(long)) => format!("--{long}"),
        (None, None) => "the value".to_owned(),
    }
}

/// A duration of at least `min`: a plain number is seconds (`30`, `0.5`); anything else is read
/// by humantime after lower-casing and dropping `_` (`500ms`, `90s`, `30m`, `6h`, `6_hours`,
/// `1d`). `rule` says what is accepted, for the refusal.
pub fn duration(min: Duration, rule: &'static str) -> Checked<Duration> {
    Checked::new(move |text| match read_duration(text) {
        Some(d) if d >= min => Ok(d),
        _ => Err(format!(
            "must be {rule} (a number of seconds, or such as 500ms, 30s, 30m, 6h), not {text:?}"
        )),
    })
}

/// A plain number of seconds, or a humantime duration (see [`duration`]); `None` for anything
/// else, a negative number included.
fn read_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    humantime::parse_duration(&text.to_lowercase().replace('_', "")).ok()
}

/// An address, or none (the word `off`). (A newtype: clap would read a field of type `Option`
/// as an optional flag.)
#[derive(Clone, Copy, Debug)]
pub struct AddressOrOff(pub Option<std::net::SocketAddr>);

/// A socket address (`127.0.0.1:9464`, `[::1]:9464`), or none for the word `off`.
pub fn address_or_off() -> Checked<AddressOrOff> {
    Checked::new(|text| match text.trim() {
        "off" => Ok(AddressOrOff(None)),
        t => t.parse().map(|a| AddressOrOff(Some(a))).map_err(|_| {
            format!("must be an address such as 127.0.0.1:9464, or `off`, not {text:?}")
        }),
    })
}

/// A whole number of at least `min`.
pub fn at_least<T>(min: T) -> Checked<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    Checked::new(move |text| match text.trim().parse::<T>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!(
            "must be a whole number of at least {min}, not {text:?}"
        )),
    })
}

/// An amount of US dollars: a finite number of at least 0 (`25`, `0.5`).
pub fn usd() -> Checked<f64> {
    Checked::new(|text| match text.trim().parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd >= 0.0 => Ok(usd),
        _ => Err(format!(
            "must be a number of US dollars of at least 0, not {text:?}"
        )),
    })
}

/// A model of the built-in catalogue, as its canonical id; blank means the catalogue's default.
pub fn catalogue_model() -> Checked<String> {
    Checked::new(|text| {
        let catalog = almanac_core::catalog::Catalog::builtin();
        match text.trim() {
            "" => Ok(catalog.default_spec().id.clone()),
            name => catalog
                .resolve_current(name)
                .map(|spec| spec.id.clone())
                .map_err(|e| format!("is not a model of the catalogue: {e}")),
        }
    })
}

/// One of an enumeration's values (`user_choice`, …), surrounding spaces ignored; `--help` lists
/// them.
pub fn one_of<E: ValueEnum + Clone + Send + Sync + 'static>() -> Checked<E> {
    let choices: Vec<PossibleValue> = E::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
        .collect();
    let names = choices
        .iter()
        .map(PossibleValue::get_name)
        .collect::<Vec<_>>()
        .join(", ");
    Checked {
        choices,
        ..Checked::new(move |text| {
            E::from_str(text.trim(), false)
                .map_err(|_| format!("must be one of {names}, not {text:?}"))
        })
    }
}

/// Fewest bytes of an HMAC signing secret: HS256's key is as strong as its bytes are random, and
/// RFC 7518 §3.2 asks for a key of at least the hash's size, 256 bits.
pub const MIN_SIGNING_SECRET_BYTES: usize = 32;

/// A signing secret of at least [`MIN_SIGNING_SECRET_BYTES`] bytes, held as a [`SecretString`];
/// blank means unset (the caller then draws a random one). The refusal says how to make one and
/// never shows the value.
pub fn signing_secret() -> Checked<SecretString> {
    Checked::new(|text| {
        let bytes = text.trim().len();
        if bytes == 0 || bytes >= MIN_SIGNING_SECRET_BYTES {
            return Ok(SecretString::from(text));
        }
        Err(format!(
            "must be at least {MIN_SIGNING_SECRET_BYTES} bytes of random text, not {bytes}: \
             generate one with `openssl rand -base64 48` and set the same value on every instance"
        ))
    })
}

/// A key or a secret, held so that `Debug` never shows it (clap's value parser of
/// [`SecretString`] flags).
///
/// # Errors
/// Never.
pub fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

/// The entries of a comma-separated list, trimmed, without the empty ones.
pub fn entries(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_plain_seconds_or_humantime() {
        let read = |s| read_duration(s);
        assert_eq!(read("30"), Some(Duration::from_secs(30)));
        assert_eq!(read("0.03"), Some(Duration::from_millis(30)));
        assert_eq!(read(" 1.5 "), Some(Duration::from_millis(1500)));
        assert_eq!(read("6h"), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(read("6_hours"), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(read("30M"), Some(Duration::from_secs(30 * 60)));
        assert_eq!(read("90s"), Some(Duration::from_secs(90)));
        assert_eq!(read("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(read("1d"), Some(Duration::from_secs(86_400)));
        for bad in ["", "-1", "NaN", "inf", "soon", "6 parsecs"] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
