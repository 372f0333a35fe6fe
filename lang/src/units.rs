//! Numbers for people: `1,234,567`, `1.23e12`, `1.5 GiB`.

/// `1234567` -> `1,234,567`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1.23e12`-style figures for FLOP counts; small numbers as they are.
pub fn human(n: u64) -> String {
    if n < 100_000 {
        return n.to_string();
    }
    human_f64(n as f64)
}

/// [`human`] for any non-negative amount, beyond `u64` too (`1.00e40`), whole below 100,000.
pub fn human_f64(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x < 100_000.0 {
        return format!("{}", x.floor());
    }
    let mut exp = x.log10().floor() as i32;
    let mut mantissa = (x / 10f64.powi(exp) * 100.0).round() / 100.0;
    // 9.995e11 rounds to 10.00: write it as 1.00e12.
    if mantissa >= 10.0 {
        mantissa /= 10.0;
        exp += 1;
    }
    format!("{mantissa:.2}e{exp}")
}

/// `1h02m`, `3m20s`, `12s`: a duration as a person reads it.
pub fn clock(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `1.5 GiB`
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// `1e12`, `3e12`, `2.5e11`: short scientific notation (three significant digits at most) for
/// budgets in names and plot ticks.
pub fn sci(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mut exp = x.abs().log10().floor() as i32;
    let mut mantissa = (x / 10f64.powi(exp) * 100.0).round() / 100.0;
    if mantissa.abs() >= 10.0 {
        mantissa /= 10.0;
        exp += 1;
    }
    let digits = format!("{mantissa:.2}");
    let digits = digits.trim_end_matches('0').trim_end_matches('.');
    format!("{digits}e{exp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(human(1_230_000_000_000), "1.23e12");
        assert_eq!(human(999_999_000_000), "1.00e12");
        assert_eq!(human_f64(1e40), "1.00e40");
        assert_eq!(human_f64(2e19), "2.00e19");
        assert_eq!(human_f64(5e4), "50000");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(sci(1e12), "1e12");
        assert_eq!(sci(2.5e11), "2.5e11");
        assert_eq!(sci(9.999e11), "1e12");
        assert_eq!(sci(0.05), "5e-2");
    }
}
