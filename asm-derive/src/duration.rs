//! Durations as written in `ttl = "…"` and `rotation = "…"`: `"90s"`, `"10m"`, `"1h"`, `"30d"`,
//! or a combination from the largest unit down (`"1h30m"`).

/// The units, largest first, with their length in seconds.
const UNITS: &[(char, u64)] = &[('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// Parses a duration into whole seconds.
///
/// The error is a complete sentence for the user, quoting the text and saying how to fix it.
pub(crate) fn parse(text: &str) -> Result<u64, String> {
    const FORMAT: &str = "write a number and a unit: `90s`, `10m`, `1h`, `30d` (or `1h30m`)";
    if text.is_empty() {
        return Err(format!("empty duration: {FORMAT}"));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(format!("duration `{text}` contains a space: {FORMAT}"));
    }
    let mut total: u64 = 0;
    // Index into `UNITS` of the smallest unit seen so far: units must strictly decrease.
    let mut next_unit = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        if number.is_empty() {
            return Err(format!(
                "duration `{text}` does not start with a number: {FORMAT}"
            ));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!(
                "duration `{text}` has no unit: write `{number}s` for seconds, or use `m`, `h` or `d`"
            ));
        }
        let Some(at) = UNITS
            .iter()
            .position(|(u, _)| unit.len() == 1 && unit.starts_with(*u))
        else {
            let hint = match unit {
                "ms" | "us" | "µs" | "ns" => "; a TTL is counted in whole seconds",
                "sec" | "secs" | "second" | "seconds" => "; did you mean `s`?",
                "min" | "mins" | "minute" | "minutes" => "; did you mean `m`?",
                "hr" | "hrs" | "hour" | "hours" => "; did you mean `h`?",
                "day" | "days" => "; did you mean `d`?",
                "w" | "wk" | "week" | "weeks" => "; write weeks as days (`7d`)",
                _ => "",
            };
            return Err(format!(
                "unknown unit `{unit}` in duration `{text}`: use `s`, `m`, `h` or `d`{hint}"
            ));
        };
        if at < next_unit {
            return Err(format!(
                "duration `{text}` repeats or reorders units: write them once each, largest first (`1h30m`)"
            ));
        }
        next_unit = at + 1;
        let value = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(UNITS[at].1))
            .and_then(|secs| total.checked_add(secs));
        match value {
            Some(sum) => total = sum,
            None => return Err(format!("duration `{text}` is too large")),
        }
        rest = after;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse;

    trait Fails {
        fn fails(self) -> String;
    }

    impl Fails for Result<u64, String> {
        fn fails(self) -> String {
            match self {
                Ok(secs) => panic!("should have been rejected, parsed {secs}s"),
                Err(e) => e,
            }
        }
    }

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse("90s"), Ok(90));
        assert_eq!(parse("10m"), Ok(600));
        assert_eq!(parse("1h"), Ok(3_600));
        assert_eq!(parse("30d"), Ok(2_592_000));
        assert_eq!(parse("0s"), Ok(0));
    }

    #[test]
    fn parses_combinations_largest_first() {
        assert_eq!(parse("1h30m"), Ok(5_400));
        assert_eq!(parse("1d2h3m4s"), Ok(93_784));
    }

    #[test]
    fn rejects_reordered_or_repeated_units() {
        assert!(parse("30m1h").is_err());
        assert!(parse("1m1m").is_err());
    }

    #[test]
    fn rejects_missing_parts_with_a_useful_message() {
        let err = parse("600").fails();
        assert!(err.contains("no unit") && err.contains("`600s`"), "{err}");
        assert!(parse("m").fails().contains("does not start with a number"));
        assert!(parse("").fails().contains("empty"));
        assert!(parse("10 m").fails().contains("space"));
    }

    #[test]
    fn rejects_unknown_units_with_hints() {
        assert!(parse("10min").fails().contains("did you mean `m`"));
        assert!(parse("500ms").fails().contains("whole seconds"));
        assert!(parse("2w").fails().contains("`7d`"));
        assert!(parse("5x").fails().contains("unknown unit `x`"));
    }

    #[test]
    fn rejects_overflow() {
        assert!(parse("99999999999999999999s").fails().contains("too large"));
        assert!(parse("18446744073709551615d").fails().contains("too large"));
    }

    #[test]
    fn rejects_negative_and_fractional() {
        assert!(parse("-5s").is_err());
        assert!(parse("1.5h").is_err());
    }
}
